"""Meter samples: storage, session progress, and trend series."""
