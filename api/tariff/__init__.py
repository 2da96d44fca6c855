"""Tariffs: time-of-use (sharp/peak/flat/valley) and hourly prices per station, versioned; the cost of a session."""
