"""Plain leaf fields answered without graphql-core's generic path (kabinet.schema.execution):
the same answers and the same errors as Strawberry's own executor."""

from enum import Enum

import pytest
import strawberry
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

from kabinet.schema import build_schema
from kabinet.schema.execution import LeafExecutor, leaf_of


@strawberry.enum
class Colour(Enum):
    RED = "red"


@strawberry.type
class Item:
    name: str
    note: str | None
    size: int
    colour: Colour
    tags: list[str]

    @strawberry.field
    def shout(self) -> str:
        return self.name.upper()


@strawberry.type
class Query:
    @strawberry.field
    def items(self) -> list[Item]:
        good = Item(name="a", note=None, size=1, colour=Colour.RED, tags=["x"])
        nameless = Item(name=None, note="n", size=2, colour=Colour.RED, tags=[])  # type: ignore[arg-type]
        wrong_size = Item(name="c", note=None, size="big", colour=Colour.RED, tags=[])  # type: ignore[arg-type]
        return [good, nameless, wrong_size]


QUERY = "{ items { name note size colour tags shout } }"


@pytest.mark.parametrize(
    "query",
    [
        QUERY,
        "{ items { note colour tags } }",
        "{ items { ... on Item { size } alias: name } }",
    ],
)
async def test_answers_and_errors_are_strawberrys(query: str):
    def run(executor: type[StrawberryGraphQLCoreExecutionContext]):
        return strawberry.Schema(query=Query, execution_context_class=executor).execute(query)

    ours, theirs = await run(LeafExecutor), await run(StrawberryGraphQLCoreExecutionContext)

    assert ours.data == theirs.data
    assert [e.formatted for e in ours.errors or []] == [e.formatted for e in theirs.errors or []]


async def test_a_null_for_a_non_null_leaf_is_the_usual_located_error():
    result = await strawberry.Schema(query=Query, execution_context_class=LeafExecutor).execute(
        "{ items { name } }"
    )

    assert result.data is None  # the list's items are non-null: the error nulls the list
    assert result.errors is not None
    assert [(e.message, e.path) for e in result.errors] == [
        ("Cannot return null for non-nullable field Item.name.", ["items", 1, "name"])
    ]


def test_only_plain_scalar_and_enum_fields_take_the_short_path():
    request = build_schema()._schema.type_map["Request"]
    assert leaf_of(request.fields["number"]) is not None  # type: ignore[attr-defined]
    assert leaf_of(request.fields["status"]) is not None  # type: ignore[attr-defined]
    for resolved in ("id", "policy", "history"):  # a resolver, an object, a list
        assert leaf_of(request.fields[resolved]) is None  # type: ignore[attr-defined]
