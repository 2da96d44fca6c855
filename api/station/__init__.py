"""Stations (sites) and the map: where to charge, and what is free there now."""
