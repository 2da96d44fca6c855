"""Every query of the orders domain."""
