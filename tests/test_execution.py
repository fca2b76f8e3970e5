"""Plain leaf fields answered without graphql-core's generic path (kabinet.schema.execution):
the same answers and the same errors as Strawberry's own executor."""

from collections.abc import AsyncIterator, Awaitable, Iterator
from enum import Enum
from types import GeneratorType
from typing import Any, ClassVar

import pytest
import strawberry
from graphql import GraphQLObjectType, GraphQLResolveInfo
from graphql.execution.collect_fields import CollectedFields, FieldDetailsList
from strawberry.execution import optimized_is_awaitable
from strawberry.extensions import ParserCache, SchemaExtension
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext
from strawberry.types import ExecutionContext
from strawberry.types.graphql import OperationType

from kabinet.schema import build_schema
from kabinet.schema.execution import (
    _NEVER_AWAITED,
    _SHARED,
    LeafExecutor,
    SharedSelection,
    SharedSelections,
    _learning,
    leaf_of,
    member_of,
    own_class_of,
    resolve_directly,
    with_context,
)
from kabinet.schema.extensions import PreparedHooks
from kabinet.schema.masking import KabinetSchema
from kabinet.schema.policies import Policy
from kabinet.schema.requests.types import Request


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

    @strawberry.field
    def later_item(self) -> Item:
        return LaterName()  # type: ignore[return-value]


class LaterName:
    """An object served as an `Item` whose `name` is a property that answers later."""

    reads = 0

    @property
    def name(self) -> Awaitable[str]:
        LaterName.reads += 1

        async def later() -> str:
            return "later"

        return later()


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


async def test_a_leaf_whose_value_is_awaitable_is_read_once_and_awaited():
    LaterName.reads = 0
    schema = strawberry.Schema(query=Query, execution_context_class=LeafExecutor)

    result = await schema.execute("{ laterItem { name } }")

    assert result.errors is None
    assert result.data == {"laterItem": {"name": "later"}}
    assert LaterName.reads == 1


def test_plain_object_fields_whose_type_needs_no_resolve_info_take_the_short_path():
    types = build_schema()._schema.type_map
    assert member_of(types["RequestEdge"].fields["node"]) is not None  # type: ignore[attr-defined]
    assert member_of(types["Policy"].fields["insuredPerson"]) is not None  # type: ignore[attr-defined]
    policy = member_of(types["Request"].fields["policy"])  # type: ignore[attr-defined]
    assert policy is not None
    assert policy.with_context  # read with the context (`with_context`)
    assert member_of(types["Request"].fields["number"]) is None  # type: ignore[attr-defined]

    @strawberry.type
    class Checked:
        inside: str

        @classmethod
        def is_type_of(cls, obj: object, info: GraphQLResolveInfo) -> bool:
            return info.field_name == "checked"

    @strawberry.type
    class Holder:
        checked: Checked

    @strawberry.type
    class HolderQuery:
        holder: Holder

    schema = strawberry.Schema(query=HolderQuery)
    resolve_directly(schema)
    assert member_of(schema._schema.type_map["Holder"].fields["checked"]) is None  # type: ignore[attr-defined]
    assert own_class_of(schema._schema.type_map["Checked"]) is None  # type: ignore[arg-type]


def test_objects_of_a_types_own_class_are_told_without_its_is_type_of():
    """Strawberry's check of an object type with interfaces is skipped for an instance of
    the type's class not cast to another type; anything else is checked."""
    types = build_schema()._schema.type_map
    assert own_class_of(types["Request"]) is Request  # type: ignore[arg-type]
    assert own_class_of(types["Policy"]) is Policy  # type: ignore[arg-type]
    assert own_class_of(types["RequestEdge"]) is None  # type: ignore[arg-type]  # no check at all


def test_only_plain_scalar_and_enum_fields_take_the_short_path():
    request = build_schema()._schema.type_map["Request"]
    assert leaf_of(request.fields["number"]) is not None  # type: ignore[attr-defined]
    assert leaf_of(request.fields["status"]) is not None  # type: ignore[attr-defined]
    for resolved in ("id", "policy", "history"):  # a resolver, an object, a list
        assert leaf_of(request.fields[resolved]) is None  # type: ignore[attr-defined]


class Refused(strawberry.BasePermission):
    message = "Refused."

    def has_permission(self, source: object, info: strawberry.Info, **kwargs: object) -> bool:
        return False


@strawberry.type
class Box:
    inside: str


@strawberry.interface
class Labelled:
    text: str


@strawberry.type
class Label(Labelled):
    pass


@strawberry.input
class Wrapping:
    paper: str
    colour: Colour = Colour.RED
    ribbon: str | None = strawberry.UNSET


@strawberry.type
class Shelf:
    label: str
    case: Box | None = None
    held: Box = None  # type: ignore[assignment]  # b's: a null for a non-null object
    sticker: Label | None = None  # b's is a box: not a label
    stamp: Label | None = None  # a's is a label cast to a box: not a label either

    @strawberry.field
    def box(self) -> Box:
        return Box(inside=None if self.label == "b" else "x")  # type: ignore[arg-type]

    @strawberry.field
    def maybe_box(self) -> Box | None:
        return Box(inside=None)  # type: ignore[arg-type]

    @strawberry.field
    def not_a_box(self) -> Box:
        return "a box"  # type: ignore[return-value]

    @strawberry.field
    async def box_later(self) -> Box | None:
        return Box(inside=self.label)

    @strawberry.field
    def boxes(self) -> list[Box | None]:
        return [Box(inside=self.label), None, Box(inside=None)]  # type: ignore[arg-type]

    @strawberry.field
    def boxes_later(self) -> list[Box]:
        async def box(inside: str | None) -> Box:
            return Box(inside=inside)  # type: ignore[arg-type]

        return [box(self.label), box(None if self.label == "b" else "y")]  # type: ignore[list-item]

    @strawberry.field
    def stickers(self) -> list[Label | None]:
        return [Label(text=self.label), Box(inside="no label"), None]  # type: ignore[list-item]

    @strawberry.field
    def stamped(self) -> Label:
        return strawberry.cast(Box, Label(text=self.label))  # type: ignore[return-value]

    @strawberry.field
    def stamps(self) -> list[Label]:
        return [Label(text=self.label), strawberry.cast(Box, Label(text="cast"))]

    @strawberry.field
    def loud(self) -> str:
        return self.label.upper()

    @strawberry.field
    def where(self, info: strawberry.Info) -> str:
        return f"{info.path.prev.key}/{info.field_name}/{info.python_name}"  # type: ignore[union-attr]

    @strawberry.field
    @staticmethod
    def rooted(root: "Shelf") -> str:
        return f"root {root.label}"

    @strawberry.field
    def parented(self, parent: strawberry.Parent["Shelf"]) -> str:
        return f"parent {parent.label} of {self.label}"

    @strawberry.field
    async def later(self, info: strawberry.Info) -> list[Item]:
        return [
            Item(name=self.label, note=None, size=len(info.field_name), colour=Colour.RED, tags=[])
        ]

    @strawberry.field
    def broken(self) -> str | None:
        raise ValueError("No label today.")

    @strawberry.field
    def must(self) -> str:
        return None  # type: ignore[return-value]

    @strawberry.field(permission_classes=[Refused])
    def secret(self) -> str:
        return "hidden"

    @strawberry.field
    def repeated(self, times: int = 2) -> str:
        return self.label * times

    @strawberry.field
    def wrapped_as(
        self, info: strawberry.Info, wrapping: Wrapping, extra: list[int] | None = None
    ) -> str:
        ribbon = "no ribbon" if wrapping.ribbon is strawberry.UNSET else wrapping.ribbon
        colour = wrapping.colour.name
        return f"{info.field_name}: {self.label} in {wrapping.paper} {colour}, {ribbon}, {extra}"

    @strawberry.field
    async def counted(self, parent: strawberry.Parent["Shelf"], times: int) -> str:
        return f"{parent.label} x{times}"

    def _wrapped(self, context: object) -> Box | None:
        return Box(inside=f"{self.label} for {context}") if self.label == "a" else None

    def _wrapped_later(self, context: object) -> Awaitable[Box]:
        async def box() -> Box:
            return Box(inside=f"later for {context}")

        return box()

    def _unwrappable(self, context: object) -> Box:
        raise ValueError(f"Nothing to wrap for {context}.")

    wrapped = strawberry.field(with_context(_wrapped), graphql_type=Box | None)
    wrapped_later = strawberry.field(with_context(_wrapped_later), graphql_type=Box)
    unwrappable = strawberry.field(with_context(_unwrappable), graphql_type=Box | None)
    guarded = strawberry.field(
        with_context(_wrapped), graphql_type=Box | None, permission_classes=[Refused]
    )


@strawberry.type
class Odd:
    sealed: Box | None
    eventually: Box | None


class OddSource:
    """Served as an `Odd`: one attribute fails as it is read, one answers later."""

    @property
    def sealed(self) -> Box:
        raise ValueError("Sealed.")

    @property
    def eventually(self) -> Awaitable[Box]:
        async def box() -> Box:
            return Box(inside="eventually")

        return box()


@strawberry.type
class ShelfQuery:
    @strawberry.field
    def shelves(self) -> list[Shelf]:
        first = Shelf(label="a", case=Box(inside="in a"), held=Box(inside="held"))
        first.sticker = Label(text="fragile")
        first.stamp = strawberry.cast(Box, Label(text="cast"))
        return [first, Shelf(label="b", sticker=Box(inside="no label"))]  # type: ignore[arg-type]

    @strawberry.field
    def odd(self) -> Odd:
        return OddSource()  # type: ignore[return-value]


SHELF_QUERIES = [
    "{ shelves { label loud where rooted parented later { name size } } }",
    "{ shelves { broken } }",
    "{ shelves { label must } }",
    "{ shelves { secret } }",
    "{ shelves { repeated(times: 3) r: repeated } }",
    "{ shelves { label box { inside } } }",
    "{ shelves { maybeBox { inside } boxLater { inside } } }",
    "{ shelves { notABox { inside } } }",
    "{ shelves { label boxes { inside } } }",
    "{ shelves { label boxesLater { inside } } }",
    "{ shelves { label case { inside } } }",
    "{ shelves { label held { inside } } }",
    "{ shelves { label sticker { text } } }",
    "{ shelves { label stickers { text } } }",
    "{ shelves { label stamp { text } } }",
    "{ shelves { label stamped { text } } }",
    "{ shelves { label stamps { text } } }",
    "{ odd { sealed { inside } eventually { inside } } }",
    "{ shelves { label wrapped { inside } wrappedLater { inside } unwrappable { inside } } }",
    "{ shelves { label guarded { inside } } }",
    '{ shelves { wrappedAs(wrapping: {paper: "kraft"}) counted(times: 2) } }',
    '{ shelves { wrappedAs(wrapping: {paper: "silk", colour: RED, ribbon: null}, extra: [1]) } }',
    '{ shelves { w: wrappedAs(wrapping: {paper: "tin"}) wrappedAs(wrapping: {paper: "silk", ribbon: "gold"}) } }',
]


@pytest.mark.parametrize("query", SHELF_QUERIES)
async def test_resolvers_called_directly_answer_as_strawberrys_layers(query: str):
    thinned = strawberry.Schema(query=ShelfQuery, execution_context_class=LeafExecutor)
    resolve_directly(thinned)
    stock = strawberry.Schema(query=ShelfQuery)

    ours = await thinned.execute(query, context_value="the tester")
    theirs = await stock.execute(query, context_value="the tester")

    assert ours.data == theirs.data
    assert [e.formatted for e in ours.errors or []] == [e.formatted for e in theirs.errors or []]
    if "later" in query:
        assert ours.data == {
            "shelves": [
                {
                    "label": label,
                    "loud": label.upper(),
                    "where": f"{index}/where/where",
                    "rooted": f"root {label}",
                    "parented": f"parent {label} of {label}",
                    "later": [{"name": label, "size": 5}],
                }
                for index, label in enumerate("ab")
            ]
        }
    if "kraft" in query:
        assert ours.data == {
            "shelves": [
                {
                    "wrappedAs": f"wrappedAs: {label} in kraft RED, no ribbon, None",
                    "counted": f"{label} x2",
                }
                for label in "ab"
            ]
        }
    if "wrapped {" in query:
        assert ours.data is not None
        assert ours.data["shelves"][0]["wrapped"] == {"inside": "a for the tester"}
        assert ours.data["shelves"][1]["wrappedLater"] == {"inside": "later for the tester"}
        assert [e.message for e in ours.errors or []] == ["Nothing to wrap for the tester."] * 2


def test_only_resolvers_without_extensions_are_called_directly():
    thinned = strawberry.Schema(query=ShelfQuery)
    stock_resolvers = {
        name: field.resolve
        for name, field in thinned._schema.type_map["Shelf"].fields.items()  # type: ignore[attr-defined]
    }
    resolve_directly(thinned)

    fields = thinned._schema.type_map["Shelf"].fields  # type: ignore[attr-defined]
    replaced = {
        name for name, field in fields.items() if field.resolve is not stock_resolvers[name]
    }
    assert replaced == {
        *("loud", "where", "rooted", "parented", "later", "broken", "must"),
        *("box", "maybeBox", "notABox", "boxLater", "boxes", "boxesLater", "stickers"),
        *("stamped", "stamps"),
        *("case", "held", "sticker", "stamp"),  # attributes of an object type, read directly
        *("wrapped", "wrappedLater", "unwrappable"),  # `guarded` has a permission class
        *("repeated", "wrappedAs", "counted"),  # with their arguments converted
    }
    wrapped = member_of(fields["wrapped"])
    assert wrapped is not None
    assert wrapped.with_context
    assert member_of(fields["guarded"]) is None


async def test_the_operations_of_one_document_share_its_collected_selections():
    schema = strawberry.Schema(
        query=ShelfQuery, execution_context_class=LeafExecutor, extensions=[ParserCache]
    )
    query = "{ shelves { label w: where ...more } } fragment more on Shelf { loud }"
    before = len(_SHARED.by_key)

    first = await schema.execute(query)
    collected = len(_SHARED.by_key)
    second = await schema.execute(query)

    assert collected > before  # the first run's selections are kept...
    assert len(_SHARED.by_key) == collected  # ...and the second finds them
    assert first.data == second.data
    assert first.data is not None
    assert first.data["shelves"][1] == {"label": "b", "w": "1/where/where", "loud": "B"}


class CollectionCounting(LeafExecutor):
    """Counts the selections an operation collects."""

    collected: ClassVar[list[str]] = []

    def collect_subfields(
        self, return_type: GraphQLObjectType, field_details_list: FieldDetailsList
    ) -> CollectedFields:
        CollectionCounting.collected.append(return_type.name)
        return super().collect_subfields(return_type, field_details_list)


async def test_a_later_operation_of_the_document_finds_every_plan_without_collecting():
    schema = strawberry.Schema(
        query=ShelfQuery, execution_context_class=CollectionCounting, extensions=[ParserCache]
    )
    query = "{ shelves { label boxes { inside } case { inside } } }"
    CollectionCounting.collected.clear()

    first = await schema.execute(query)
    collected_first = list(CollectionCounting.collected)
    second = await schema.execute(query)

    assert sorted(collected_first) == ["Box", "Box", "Shelf"]
    assert CollectionCounting.collected == collected_first  # none more for the second
    assert first.data == second.data
    assert first.data is not None
    assert first.data["shelves"][0]["boxes"] == [{"inside": "a"}, None, None]
    assert first.data["shelves"][0]["case"] == {"inside": "in a"}


def test_a_selection_dropped_from_the_shared_ones_takes_its_fields_details_along():
    selections = SharedSelections(size=1)
    older = CollectedFields({"a": [], "b": []}, [], [])  # type: ignore[list-item]
    newer = CollectedFields({"c": []}, [], [])  # type: ignore[list-item]
    older_shared = SharedSelection(("older",), older)

    selections.put(("older",), older_shared)
    assert selections.holding(older.grouped_field_set["b"]) is older_shared
    selections.put(("newer",), SharedSelection(("newer",), newer))

    assert selections.holding(older.grouped_field_set["b"]) is None
    assert set(selections.by_details) == {id(newer.grouped_field_set["c"])}


async def test_an_operation_with_variables_collects_its_own_selections():
    schema = strawberry.Schema(
        query=ShelfQuery, execution_context_class=LeafExecutor, extensions=[ParserCache]
    )
    query = "query ($loud: Boolean!) { shelves { label loud @include(if: $loud) } }"
    before = len(_SHARED.by_key)

    quiet = await schema.execute(query, variable_values={"loud": False})
    loud = await schema.execute(query, variable_values={"loud": True})

    assert quiet.data == {"shelves": [{"label": "a"}, {"label": "b"}]}
    assert loud.data == {"shelves": [{"label": "a", "loud": "A"}, {"label": "b", "loud": "B"}]}
    assert len(_SHARED.by_key) == before


class Shouting(SchemaExtension):
    def resolve(self, _next: Any, root: Any, info: strawberry.Info, *args: Any, **kwargs: Any):
        value = _next(root, info, *args, **kwargs)
        return value.upper() if isinstance(value, str) else value


async def test_an_operation_with_middleware_runs_every_field_through_it():
    query = "{ shelves { label boxes { inside } } }"
    thinned = strawberry.Schema(
        query=ShelfQuery, execution_context_class=LeafExecutor, extensions=[Shouting]
    )
    resolve_directly(thinned)
    stock = strawberry.Schema(query=ShelfQuery, extensions=[Shouting])

    ours, theirs = await thinned.execute(query), await stock.execute(query)

    assert ours.data == theirs.data
    assert ours.data is not None
    assert ours.data["shelves"][0]["label"] == "A"
    assert ours.data["shelves"][0]["boxes"][0] == {"inside": "A"}


def test_types_never_awaitable_are_learned_and_awaitable_ones_never():
    class Plain:
        pass

    class Later:
        def __await__(self) -> Iterator[None]:
            yield

    def generator() -> Iterator[None]:
        yield

    is_awaitable = _learning(optimized_is_awaitable)
    results = [is_awaitable(value) for value in (Plain(), Plain(), Later(), generator())]

    assert results == [False, False, True, False]
    assert Plain in _NEVER_AWAITED
    assert Later not in _NEVER_AWAITED
    assert GeneratorType not in _NEVER_AWAITED


EVENTS: list[str] = []


class Traced(SchemaExtension):
    """One hook of each kind Strawberry takes: generators, an async generator, a plain
    function and a coroutine function."""

    def on_operation(self) -> Iterator[None]:
        EVENTS.append("operation in")
        yield
        EVENTS.append("operation out")

    async def on_execute(self) -> AsyncIterator[None]:
        EVENTS.append("execute in")
        yield
        EVENTS.append("execute out")

    def on_parse(self) -> None:  # type: ignore[override]
        EVENTS.append("parse")

    async def on_validate(self) -> None:  # type: ignore[override]
        EVENTS.append("validate")


class AlsoTraced(Traced):
    def on_operation(self) -> Iterator[None]:
        EVENTS.append("also in")
        yield
        EVENTS.append("also out")


async def test_prepared_hooks_run_as_strawberrys():
    events = []
    for schema_class in (KabinetSchema, strawberry.Schema):
        schema = schema_class(query=Query, extensions=[Traced, AlsoTraced])
        for _ in range(2):  # the second time from the hooks prepared by the first
            EVENTS.clear()
            result = await schema.execute("{ items { note } }")
            assert result.errors is None
        events.append(list(EVENTS))

    assert events[0] == events[1]
    assert events[0][:2] == ["operation in", "also in"]
    assert {"parse", "validate", "execute in", "execute out"} <= set(events[0])


class Guarded(SchemaExtension):
    """An operation hook that sees what leaves the operation."""

    def on_operation(self) -> Iterator[None]:
        EVENTS.append("guarded in")
        try:
            yield
        except Exception as error:
            EVENTS.append(f"guarded saw {type(error).__name__}")
            raise
        finally:
            EVENTS.append("guarded out")


class FailsOnTheWayOut(SchemaExtension):
    async def on_operation(self) -> AsyncIterator[None]:
        EVENTS.append("failing in")
        yield
        raise ValueError("Failed on the way out.")


class DoesNotStop(SchemaExtension):
    def on_operation(self) -> Iterator[None]:
        yield
        yield


class FailsToValidate(SchemaExtension):
    def on_validate(self) -> Iterator[None]:
        raise ValueError("Failed on the way in.")
        yield


class Prepared(strawberry.Schema):
    """Strawberry's schema with `PreparedHooks` (KabinetSchema also masks errors)."""

    def create_extensions_runner(
        self, execution_context: ExecutionContext, extensions: list[SchemaExtension]
    ) -> PreparedHooks:
        return PreparedHooks(execution_context=execution_context, extensions=extensions)


@pytest.mark.parametrize(
    ("extensions", "allowed"),
    [
        ([Guarded, Traced], [OperationType.MUTATION]),  # an exception through every hook
        ([Guarded, FailsOnTheWayOut], None),  # a hook's own error, seen by the outer one
        ([Guarded, DoesNotStop], None),  # contextlib's "generator didn't stop"
        ([Guarded, FailsToValidate], None),  # a hook that fails before its yield
    ],
)
async def test_prepared_hooks_fail_as_strawberrys(
    extensions: list[type[SchemaExtension]], allowed: list[OperationType] | None
):
    outcomes = []
    for schema_class in (Prepared, strawberry.Schema):
        schema = schema_class(query=Query, extensions=extensions)
        EVENTS.clear()
        try:
            result = await schema.execute("{ items { note } }", allowed_operation_types=allowed)
            outcome = [str(error) for error in result.errors or []]
        except Exception as error:
            outcome = [type(error).__name__]
        outcomes.append((outcome, list(EVENTS)))

    assert outcomes[0] == outcomes[1]
    assert outcomes[0][0]  # each fails


class GuardedValidation(SchemaExtension):
    def on_validate(self) -> Iterator[None]:
        try:
            yield
        except Exception as error:
            EVENTS.append(f"validation saw {type(error).__name__}")
            raise


async def test_a_hook_failing_on_its_way_in_lets_those_in_leave_with_its_error():
    """Strawberry's manager leaves them suspended until they are collected."""
    schema = Prepared(query=Query, extensions=[GuardedValidation, FailsToValidate])
    EVENTS.clear()
    result = await schema.execute("{ items { note } }")
    assert [str(error) for error in result.errors or []] == ["Failed on the way in."]
    recorded = list(EVENTS)
    assert recorded == ["validation saw ValueError"]


def test_prepared_hooks_run_as_strawberrys_in_a_synchronous_operation():
    events = []
    for schema_class in (Prepared, strawberry.Schema):
        schema = schema_class(query=Query, extensions=[Guarded, OperationOnly])
        EVENTS.clear()
        assert schema.execute_sync("{ items { note } }").errors is None
        events.append(list(EVENTS))
    assert events[0] == events[1]
    assert events[0][:2] == ["guarded in", "in"]


class OperationOnly(SchemaExtension):
    def on_operation(self) -> Iterator[None]:
        EVENTS.append("in")
        yield
        EVENTS.append(f"out, {len(self.execution_context.result.data['items'])} items")  # type: ignore[union-attr]


async def test_stages_no_extension_hooks_into_are_passed_through():
    runner = PreparedHooks(execution_context=None, extensions=[OperationOnly()])  # type: ignore[arg-type]
    assert runner.executing() is runner.parsing()  # one shared manager that does nothing
    assert runner.operation() is not runner.parsing()
    schema = KabinetSchema(query=Query, extensions=[OperationOnly])
    EVENTS.clear()
    result = await schema.execute("{ items { note } }")
    assert result.errors is None
    items = len(result.data["items"])  # type: ignore[index]
    recorded = list(EVENTS)
    assert recorded == ["in", f"out, {items} items"]
