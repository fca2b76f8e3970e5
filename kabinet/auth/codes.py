"""Six-digit confirmation codes: drawn from the OS CSPRNG, stored as salted hashes."""

import hashlib
import hmac
import secrets

CODE_DIGITS = 6


def new_code() -> str:
    return f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"


def new_salt() -> str:
    return secrets.token_hex(16)


def code_hash(code: str, salt: str) -> str:
    return hashlib.sha256(f"{salt}:{code}".encode()).hexdigest()


def code_matches(code: str, salt: str, expected_hash: str) -> bool:
    """Constant-time comparison of the typed code with the stored hash."""
    typed = "".join(code.split())
    return hmac.compare_digest(code_hash(typed, salt), expected_hash)
