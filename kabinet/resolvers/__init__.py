"""Use cases: plain async functions taking the caller and validated input. No Strawberry here."""
