"""Every query of the ledger domain."""
