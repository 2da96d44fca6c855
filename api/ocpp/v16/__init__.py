"""OCPP 1.6J: handlers for what piles send, and the mapping of 1.6 payloads to domain values."""
