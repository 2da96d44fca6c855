"""Who may charge where: station access policies, allow- and block-lists, and the local lists of piles."""
