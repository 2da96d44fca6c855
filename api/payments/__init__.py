"""Money: payment providers behind one interface, orders, settlement, wallet ledger."""
