"""The double-entry ledger: accounts, balanced journal entries, wallets, partner sub-accounts."""
