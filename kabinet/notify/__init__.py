"""Outbound email and SMS through the durable outbox, with Ukrainian and English templates."""
