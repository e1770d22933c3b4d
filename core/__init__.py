"""Records, settings, errors and the backend registry shared by every stage."""
