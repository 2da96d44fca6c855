"""Stations, piles and connectors: the map, station detail, live connector status."""
