"""Pages and static files we serve ourselves (GraphiQL, offline)."""
