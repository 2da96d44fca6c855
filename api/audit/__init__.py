"""The audit trail of operator actions."""
