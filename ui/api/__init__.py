"""The HTTP API (``finrag serve``): :mod:`ui.api.app` routes, :mod:`ui.api.access` who may do
what, :mod:`ui.api.limits` request size limits, :mod:`ui.api.jobs` background ingest jobs."""
