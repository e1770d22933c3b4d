"""finrag evaluation package."""
