"""Charge points (piles) and connectors: registration, connection, boot, status."""
