"""Authentication and authorisation: passwords, tokens, sessions, callers, rate limits."""
