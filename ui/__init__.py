"""finrag ui package."""
