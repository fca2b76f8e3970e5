"""Request-status events from the database to WebSocket subscribers (live-status issue)."""
