"""Several nodes sharing one database and one Redis: liveness, which node holds a pile, commands routed there."""
