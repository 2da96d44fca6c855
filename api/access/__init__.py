"""Access: people, roles and what each may see and do; logins and tokens."""
