"""Charging sessions: authorization, start, DC phases, vehicle identity, stop."""
