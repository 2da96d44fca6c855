"""OCPP 2.0.1: handlers for what piles send, its commands, and the mapping of 2.0.1 payloads to domain values."""
