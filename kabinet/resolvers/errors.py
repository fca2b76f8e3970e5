"""Expected failures of use cases, as plain values. The schema layer localises them."""

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class FieldProblem:
    """One invalid input field: its path in the input, and a message key with parameters."""

    field: str
    key: str
    params: dict[str, object] = field(default_factory=dict)

    @property
    def code(self) -> str:
        return self.key.removeprefix("field.").upper()


@dataclass(frozen=True, slots=True)
class InvalidInput:
    problems: list[FieldProblem]


@dataclass(frozen=True, slots=True)
class RateLimited:
    retry_after_seconds: int


@dataclass(frozen=True, slots=True)
class InvalidCredentials:
    key: str = "error.invalid_credentials"


@dataclass(frozen=True, slots=True)
class TokenExpired:
    key: str = "error.token_expired"


@dataclass(frozen=True, slots=True)
class InvalidCode:
    attempts_left: int


@dataclass(frozen=True, slots=True)
class NotAllowed:
    """A state rule forbids the action; ``code`` names the rule, ``key`` explains it."""

    code: str
    key: str
    params: dict[str, object] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class NotFound:
    pass


DomainError = (
    InvalidInput
    | RateLimited
    | InvalidCredentials
    | TokenExpired
    | InvalidCode
    | NotAllowed
    | NotFound
)
