"""Glassgate."""
