"""finrag ingest package."""
