"""Charging orders: pay a cap, charge, settle (refund, share, release), by provider or from the wallet."""
