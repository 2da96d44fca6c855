"""Charging sessions: one session with its trend, history, comparison, live updates."""
