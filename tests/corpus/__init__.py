"""Hostile inputs, generated on demand (nothing large is committed): see `hostile.py`."""
