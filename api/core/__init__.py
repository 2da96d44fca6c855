"""Domain-free building blocks: errors, clock, event bus, database wiring. Imports nothing else from ``api``."""
