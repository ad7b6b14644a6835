"""Sensors, one per file; definitions.py lists them."""
