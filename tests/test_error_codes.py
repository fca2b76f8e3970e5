"""Error codes are a contract: published enums whose values only grow; message keys are not."""

import ast
from enum import Enum
from pathlib import Path

import pytest
from graphql import GraphQLEnumType

import kabinet
from kabinet.i18n import Locale, message_keys
from kabinet.resolvers.errors import ErrorCode, FieldErrorCode
from kabinet.schema import build_schema
from kabinet.schema.errors import GraphQLErrorCode

# What clients were given. Add new codes here; never rename or remove one (a client
# switching on it would silently stop matching).
PUBLISHED = {
    "ErrorCode": {
        "INVALID_INPUT",
        "RATE_LIMITED",
        "INVALID_CREDENTIALS",
        "TOKEN_EXPIRED",
        "INVALID_CODE",
        "NOT_FOUND",
        "EMAIL_NOT_CONFIRMED",
        "CONTACT_ALREADY_VERIFIED",
        "LAST_PHONE_HAS_POLICIES",
        "NO_ACTIVE_POLICY",
        "POLICY_NOT_ACTIVE",
        "TRANSITION_NOT_ALLOWED",
        "REQUEST_CLOSED",
        "TOO_MANY_COMMENTS",
        "ASSIGNMENT_CONFLICT",
        "ASSIGNMENT_NOT_ALLOWED",
    },
    "FieldErrorCode": {
        "REQUIRED",
        "TOO_LONG",
        "CONTROL_CHARACTERS",
        "CHOICE_INVALID",
        "DATE_INVALID",
        "EMAIL_INVALID",
        "EMAIL_TAKEN",
        "NAME_INVALID",
        "IDEMPOTENCY_KEY_INVALID",
        "PASSWORD_TOO_SHORT",
        "PASSWORD_TOO_LONG",
        "PASSWORD_NOT_LATIN",
        "PASSWORD_NEEDS_UPPERCASE",
        "PASSWORD_NEEDS_DIGIT",
        "PASSWORDS_DO_NOT_MATCH",
        "PASSWORD_SAME_AS_CURRENT",
        "BIRTH_DATE_IN_FUTURE",
        "BIRTH_DATE_TOO_OLD",
        "CONTACT_INVALID",
        "PHONE_NOT_UKRAINIAN_MOBILE",
        "PHONE_TAKEN",
        "CONTACT_ALREADY_VERIFIED",
        "TOO_MANY_CONTACTS",
        "POSTAL_CODE_INVALID",
        "FILES_REQUIRED",
        "TOO_MANY_FILES",
        "FILE_TOO_LARGE",
        "FILE_TYPE_NOT_ALLOWED",
        "FILE_UNREADABLE",
        "TOO_MANY_ROWS",
        "POLICY_NUMBER_INVALID",
        "VALID_TO_BEFORE_VALID_FROM",
        "GUARDIAN_ACCESS_NOT_CHILD",
        "WINDOWS_REQUIRED",
        "WINDOW_INVALID",
        "ITEMS_REQUIRED",
        "TOO_MANY_ITEMS",
        "QUANTITY_INVALID",
        "ADDRESS_REQUIRED",
        "ADDRESS_UNKNOWN",
        "AMOUNT_INVALID",
        "CURRENCY_INVALID",
        "SERVICE_DATE_IN_FUTURE",
        "SERVICE_DATE_OUTSIDE_POLICY",
        "IBAN_INVALID",
        "IBAN_CHECKSUM_INVALID",
        "PHONE_REQUIRED",
        "SCHEDULED_AT_REQUIRED",
        "STATUS_NOT_ANNOUNCED",
        "ASSIGNEE_NOT_STAFF",
        "STAFF_ONLY",
        "OUTCOME_REQUIRED",
        "OUTCOME_KIND_MISMATCH",
        "OUTCOME_ITEMS_MISMATCH",
        "TIME_NOT_IN_FUTURE",
        "RESULT_TYPE_NOT_ALLOWED",
        "AMOUNT_ABOVE_MAXIMUM",
        "OUTCOME_DOCUMENTS_MISMATCH",
        "REFUSAL_REQUIRED",
        "DECISION_REQUIRED",
        "OUTCOME_NOT_EXPECTED",
        "LIMIT_INVALID",
        "COPAYMENT_INVALID",
        "WAITING_DAYS_INVALID",
        "VERSIONS_OVERLAP",
        "BENEFIT_DUPLICATE",
        "PHONE_INVALID",
        "COORDINATES_INVALID",
        "COORDINATES_INCOMPLETE",
        "OPENING_HOURS_INVALID",
        "PROVIDER_CODE_INVALID",
        "PROVIDER_UNKNOWN",
        "PROVIDER_KIND_MISMATCH",
        "RADIUS_INVALID",
        "NEAR_TOO_BROAD",
    },
    "GraphQLErrorCode": {
        "UNAUTHENTICATED",
        "FORBIDDEN",
        "INTERNAL_SERVER_ERROR",
        "TOO_DEEP",
        "TOO_MANY_ALIASES",
        "TOO_MANY_FIELDS",
        "TOO_MANY_OBJECTS",
        "TOO_MANY_SUBSCRIPTIONS",
        "EVENTS_INTERRUPTED",
        "TOO_MANY_CONNECTIONS",
        "INVALID_CURSOR",
        "INVALID_ARGUMENT",
        "PERSISTED_QUERY_NOT_FOUND",
        "PERSISTED_QUERY_HASH_MISMATCH",
        "PERSISTED_QUERY_REQUIRED",
        "PERSISTED_QUERY_NOT_SUPPORTED",
    },
}

CODE_ENUMS: dict[str, type[Enum]] = {
    "ErrorCode": ErrorCode,
    "FieldErrorCode": FieldErrorCode,
    "GraphQLErrorCode": GraphQLErrorCode,
}

# Where a code is passed by position: the class (or method) and the argument's index.
CODE_ARGUMENTS = {"NotAllowed": 0, "FieldProblem": 1, "fail": 1, "DocumentRefused": 0}


@pytest.mark.parametrize("name", PUBLISHED)
def test_the_published_codes_are_the_ones_clients_were_given(name: str):
    graphql_type = build_schema()._schema.type_map[name]

    assert isinstance(graphql_type, GraphQLEnumType)
    assert set(graphql_type.values) == PUBLISHED[name]
    assert all(value.description for value in graphql_type.values.values())


def test_every_error_type_declares_its_code_as_the_enum():
    schema = build_schema()._schema
    error_types = ["Error", *(t.name for t in schema.get_possible_types(schema.type_map["Error"]))]
    declared = {name: schema.type_map[name].fields["code"].type for name in error_types}
    declared["FieldError"] = schema.type_map["FieldError"].fields["code"].type

    assert {name: str(type_) for name, type_ in declared.items()} == {
        **dict.fromkeys(error_types, "ErrorCode!"),
        "FieldError": "FieldErrorCode!",
    }


def test_message_keys_are_internal_a_field_code_names_its_message():
    """A field code's value is its message key: renaming the key changes the value, never
    the name the API publishes."""
    assert [code for code in FieldErrorCode if code.value not in message_keys(Locale.UK)] == []
    assert FieldErrorCode.PHONE_TAKEN.name == "PHONE_TAKEN"
    assert FieldErrorCode.PHONE_TAKEN.value == "field.phone_taken"


def test_the_api_guide_explains_every_graphql_error_code(project_root: Path):
    guide = (project_root / "docs" / "api-guide.md").read_text(encoding="utf-8")

    assert [code for code in GraphQLErrorCode if f"`{code}`" not in guide] == []


def test_the_api_guides_error_table_has_a_row_for_every_graphql_error_code(project_root: Path):
    """Section 7's table is where a client looks up an `extensions.code`: each code has a
    row there, even one explained at length in another section."""
    guide = (project_root / "docs" / "api-guide.md").read_text(encoding="utf-8")
    errors = guide.split("\n## 7. Errors\n")[1].split("\n## 8.")[0]
    first_cells = [line.split("|")[1] for line in errors.splitlines() if line.startswith("| `")]

    assert [
        code for code in GraphQLErrorCode if not any(f"`{code}`" in c for c in first_cells)
    ] == []


def _is_text(node: ast.expr) -> bool:
    return isinstance(node, ast.JoinedStr) or (
        isinstance(node, ast.Constant) and isinstance(node.value, str)
    )


def _callee(call: ast.Call) -> str | None:
    match call.func:
        case ast.Name(id=name) | ast.Attribute(attr=name):
            return name
    return None


def _code_expressions(tree: ast.AST) -> list[ast.expr]:
    """Every expression the code passes as an error code."""
    found: list[ast.expr] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            position = CODE_ARGUMENTS.get(_callee(node) or "")
            if position is not None and len(node.args) > position:
                found.append(node.args[position])
            found.extend(k.value for k in node.keywords if k.arg == "code")
        elif isinstance(node, ast.Dict):
            found.extend(
                value
                for key, value in zip(node.keys, node.values, strict=True)
                if isinstance(key, ast.Constant) and key.value == "code"
            )
    return found


def test_every_code_the_code_can_produce_is_a_member_of_a_published_enum():
    """No code is a string typed at the call (it could be anything); each named member
    exists. Together: whatever a resolver or the schema answers is in an enum above."""
    package = Path(kabinet.__file__).parent
    typed, unknown = [], []
    for path in sorted(package.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        where = path.relative_to(package.parent)
        typed.extend(f"{where}:{node.lineno}" for node in _code_expressions(tree) if _is_text(node))
        unknown.extend(
            f"{where}:{node.lineno} {node.value.id}.{node.attr}"
            for node in ast.walk(tree)
            if isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id in CODE_ENUMS
            and node.attr not in CODE_ENUMS[node.value.id].__members__
        )

    assert typed == []
    assert unknown == []
