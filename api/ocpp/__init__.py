"""OCPP-J adapter: pile WebSockets <-> domain services. Frames and schemas here, one subpackage per version."""
