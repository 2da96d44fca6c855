"""Every query of the tariff domain."""
