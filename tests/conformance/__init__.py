"""Suites every backend of a protocol must pass; each backend's tests subclass the mixin."""
