"""Execution of fields without graphql-core's and Strawberry's generic per-field layers.

Most fields of an answer are a scalar or an enum read off an object (`number`, `status`
of twenty requests, the fields of each card). graphql-core builds a resolve info for each,
Strawberry calls its "basic field" resolver through three more layers to end in
``getattr``, and graphql-core completes the value through its generic `complete_value`:
about twenty calls for one attribute, a quarter of kabinet's CPU for a `me`. Each object
passed through five more graphql-core methods before its fields ran, and each list
through three.

`LeafExecutor` plans each selection set once (per operation, or per parsed document for
an operation that nothing but its document decides: `SharedSelection`): each field's
definition and nodes, and whether it is a plain leaf. A plain leaf is answered directly:
the attribute through the field's own default resolver, then the leaf type's output
coercion (none for a string, a boolean or an enum member), with graphql-core's errors (a
null for a non-null field, a value the type cannot serialise) located and reported as
graphql-core reports them. A plain object field (`RequestEdge.node`: an attribute, of a
type that tells its objects apart without a resolve info) runs its subfields' plan on
the attribute read, and a value that is null, an error, awaitable or of another type
takes the usual path. Other fields are resolved as graphql-core's `execute_field`
resolves them, objects completed by running their subfields' plan, lists item by item;
awaitables, errors and deferred or streamed parts take graphql-core's own handling. Any
operation run with middleware (an extension with a `resolve` hook) takes graphql-core's
path unchanged.

`resolve_directly` thins the resolvers of fields with a resolver (`User.contacts`,
`User.requests(first:)`...): Strawberry calls each through six layers that apply
field extensions there are none of; the field's resolve function then converts its
arguments as Strawberry does and calls the resolver with what it asks for (its
arguments, its object, its parent or root, an `Info`). A field with permission
classes or any other field extension keeps Strawberry's resolver. An object or list
field without a resolver reads its attribute directly.
"""

import dataclasses
import weakref
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Coroutine, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from itertools import chain
from types import GeneratorType, MethodType
from typing import Any

import strawberry
from graphql import (
    FieldNode,
    GraphQLField,
    GraphQLLeafType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLResolveInfo,
    GraphQLResolveInfoHelpers,
    Undefined,
    get_nullable_type,
    is_leaf_type,
)
from graphql.execution.collect_fields import (
    CollectedFields,
    DeferUsage,
    FieldDetails,
    FieldDetailsList,
    GroupedFieldSet,
)
from graphql.execution.executor import invalid_return_type_error, to_nodes
from graphql.execution.values import get_argument_values
from graphql.pyutils import AwaitableOrValue, Path, gather_with_cancel
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext
from strawberry.schema.schema_converter import CustomGraphQLEnumType, GraphQLCoreConverter
from strawberry.types.arguments import convert_arguments
from strawberry.types.cast import TYPE_CAST_ATTRIBUTE
from strawberry.types.field import StrawberryField
from strawberry.types.fields.resolver import StrawberryResolver


@dataclass(frozen=True, slots=True)
class Leaf:
    """How to answer one plain leaf field: ``read(source, name)``, then ``leaf_type``.

    ``as_is`` is the Python type whose values the leaf type answers unchanged (`str` for
    String and ID, `bool` for Boolean), and ``names`` an enum type's names by member:
    most values are answered by these without the type's coercion."""

    read: Callable[[Any, str], Any]
    name: str
    leaf_type: GraphQLLeafType
    non_null: bool
    as_is: type | None
    enum_class: type[Enum] | None
    names: dict[Enum, str]


def leaf_of(field: GraphQLField) -> Leaf | None:
    """The `Leaf` of a field Strawberry resolves as a basic field (no resolver, no field
    extension, no exception handler: its resolver only reads the attribute) whose type is
    a scalar or an enum, without arguments; None for any other field."""
    strawberry_field = (field.extensions or {}).get(GraphQLCoreConverter.DEFINITION_BACKREF)
    resolve = field.resolve
    if (
        not isinstance(strawberry_field, StrawberryField)
        or not strawberry_field.is_basic_field
        or not getattr(resolve, "_is_default", False)
        or getattr(resolve, "__name__", None) != "_get_basic_result"
        or field.args
    ):
        return None
    non_null = isinstance(field.type, GraphQLNonNull)
    leaf_type = field.type.of_type if non_null else field.type  # type: ignore[union-attr]
    if not is_leaf_type(leaf_type):
        return None
    return Leaf(
        strawberry_field.default_resolver,
        strawberry_field.python_name,
        leaf_type,
        non_null,
        _AS_IS.get(leaf_type.name),
        leaf_type.wrapped_cls if isinstance(leaf_type, CustomGraphQLEnumType) else None,
        _names_by_member(leaf_type),
    )


# The built-in scalars whose coercion returns a value of this type unchanged.
_AS_IS: dict[str, type] = {"String": str, "ID": str, "Boolean": bool}


def _names_by_member(leaf_type: GraphQLLeafType) -> dict[Enum, str]:
    """The names of a Strawberry enum type's members (its coercion looks for the name of
    a member by comparing it with each value in turn); empty for any other type."""
    if not isinstance(leaf_type, CustomGraphQLEnumType):
        return {}
    by_value = {value.value: name for name, value in leaf_type.values.items()}
    return {member: by_value[member.value] for member in leaf_type.wrapped_cls}


class ByIdentity[K, V]:
    """``make(key)``, made once per key object and found again by its identity (graphql-
    core's definitions are unhashable), the key kept with its answer so that its
    identity is never reused by another."""

    def __init__(self, make: Callable[[K], V]) -> None:
        self.make = make
        self.known: dict[int, tuple[K, V]] = {}

    def __call__(self, key: K) -> V:
        known = self.known.get(id(key))
        if known is None or known[0] is not key:
            known = self.known[id(key)] = (key, self.make(key))
        return known[1]


# Each field definition's `Leaf`.
_leaf = ByIdentity(leaf_of)


@dataclass(frozen=True, slots=True)
class Member:
    """How to read a plain object field (`RequestEdge.node`, `Policy.insuredPerson`): its
    attribute, ``read(source, name)``, or for a resolver made by `with_context`
    (`Request.policy`) ``read(source, context)``; then its object type's subfields. The
    type tells objects apart without a resolve info (no `is_type_of`, or Strawberry's,
    which takes none)."""

    read: Callable[[Any, Any], Any]
    name: str  # the attribute's, or the reader's
    object_type: GraphQLObjectType
    with_context: bool = False


@dataclass(frozen=True, slots=True)
class Step:
    """One field of a selection set: its `Leaf` when it is a plain leaf field, its `Member`
    when it is a plain object field, else neither (`LeafExecutor._execute_step`); its
    definition (None for a field the type lacks) and its nodes, found once."""

    response_name: str
    field_details_list: FieldDetailsList
    leaf: Leaf | None
    member: Member | None
    field_name: str
    field: GraphQLField | None
    nodes: list[FieldNode]
    # The field's type when it is an object type, null or not (`Request.policy`), and
    # that type's own class (`own_class_of`).
    object_type: GraphQLObjectType | None
    own_class: type | None

    @property
    def field_type(self) -> GraphQLOutputType | None:
        return self.field.type if self.field is not None else None


# The `is_type_of` Strawberry gives an object type with interfaces: an isinstance check of
# the object alone, whose resolve info goes unused.
STRAWBERRY_IS_TYPE_OF = (
    "GraphQLCoreConverter.from_object.<locals>._get_is_type_of.<locals>.is_type_of"
)


def member_of(field: GraphQLField) -> Member | None:
    """The `Member` of a field that `resolve_directly` gave an attribute read or the direct
    call of a `with_context` resolver, whose type is an object type with no `is_type_of`
    or Strawberry's; None for any other field."""
    attribute = getattr(field.resolve, "reads_attribute", None)
    reads_context = getattr(field.resolve, READS_CONTEXT, None)
    object_type = get_nullable_type(field.type)
    if (
        (attribute is None and reads_context is None)
        or type(object_type) is not GraphQLObjectType
        or field.args
    ):
        return None
    is_type_of = object_type.is_type_of
    if is_type_of is not None and is_type_of.__qualname__ != STRAWBERRY_IS_TYPE_OF:
        return None
    if reads_context is not None:
        return Member(reads_context, reads_context.__name__, object_type, with_context=True)
    read, name = attribute
    return Member(read, name, object_type)


def own_class_of(object_type: GraphQLObjectType) -> type | None:
    """The class of ``object_type`` when Strawberry's `is_type_of` is the type's check and
    an instance of the class answers it by its `__dict__` alone: then an instance not cast
    to another type (no `strawberry.cast` mark in its `__dict__`) is of the type, which
    that check would find through three calls. None for any other type."""
    is_type_of = object_type.is_type_of
    definition = (object_type.extensions or {}).get(GraphQLCoreConverter.DEFINITION_BACKREF)
    own_class = getattr(definition, "origin", None)
    if (
        is_type_of is None
        or is_type_of.__qualname__ != STRAWBERRY_IS_TYPE_OF
        or not isinstance(own_class, type)
        or not own_class.__dictoffset__  # instances without a `__dict__` (slots)
        or own_class.__getattribute__ is not object.__getattribute__
        or hasattr(own_class, "__getattr__")
        or hasattr(own_class, TYPE_CAST_ATTRIBUTE)
    ):
        return None
    return own_class


# Each object type's own class.
_own_class = ByIdentity(own_class_of)


@dataclass(slots=True)
class SharedSelection:
    """A selection's collected subfields, and their plan once made, shared by every
    operation of one parsed document (ParserCache hands out one per query text): with
    no variables, no `@defer` or `@stream` and no fragment arguments they depend on the
    object type and the field nodes alone, so collecting and planning them again for
    each request only repeats the first one's work. The key holds the nodes, type and
    operation, so none of their identities is reused while the entry lives."""

    key: tuple[object, ...]
    collected: CollectedFields
    plan: list["Step"] | None = None
    # The plans of its fields' own selections once made, by the identities of the object
    # type (kept with its plan, so the identity is not reused) and of the field's details
    # (`LeafExecutor._subplan`): each is shared too, so a later operation finds it here
    # without collecting the selection again.
    subplans: dict[tuple[int, int], tuple[GraphQLObjectType, list["Step"]]] = dataclasses.field(
        default_factory=dict
    )

    @staticmethod
    def may_share(field_details: Iterable[FieldDetails], collected: CollectedFields) -> bool:
        return not (
            collected.new_defer_usages
            or collected.forbidden_directive_instances
            or any(d.defer_usage or d.fragment_variable_values for d in field_details)
        )


class SharedSelections:
    """The `SharedSelection`s most recently used, at most ``size``; by key (the object
    type, the operation and the field nodes, compared by identity), by the identity of
    their grouped field set, and by the identity of each of their fields' details."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.by_key: OrderedDict[tuple[int, ...], SharedSelection] = OrderedDict()
        self.by_fields: dict[int, SharedSelection] = {}
        self.by_details: dict[int, tuple[FieldDetailsList, SharedSelection]] = {}

    def get(self, key: tuple[object, ...]) -> SharedSelection | None:
        identities = tuple(map(id, key))
        shared = self.by_key.get(identities)
        if shared is not None:
            self.by_key.move_to_end(identities)
        return shared

    def put(self, key: tuple[object, ...], shared: SharedSelection) -> None:
        self.by_key[tuple(map(id, key))] = shared
        fields = shared.collected.grouped_field_set
        self.by_fields[id(fields)] = shared
        self.by_details.update((id(details), (details, shared)) for details in fields.values())
        if len(self.by_key) > self.size:
            _, evicted = self.by_key.popitem(last=False)
            evicted_fields = evicted.collected.grouped_field_set
            del self.by_fields[id(evicted_fields)]
            for details in evicted_fields.values():
                del self.by_details[id(details)]

    def of_fields(self, fields: GroupedFieldSet) -> SharedSelection | None:
        shared = self.by_fields.get(id(fields))
        return (
            shared if shared is not None and shared.collected.grouped_field_set is fields else None
        )

    def holding(self, field_details_list: FieldDetailsList) -> SharedSelection | None:
        """The selection among whose fields ``field_details_list`` is, if it is shared."""
        known = self.by_details.get(id(field_details_list))  # kept alive: no id reused
        return known[1] if known is not None else None


# Of every document ParserCache keeps (512), the selection sets of its objects.
_SHARED = SharedSelections(size=8192)


# What `_answer_leaf` returns when the value is awaitable: the field takes the usual path,
# with the value read (not read again).
_USUAL_PATH = object()
# A field `_execute_step` resolves itself.
_UNREAD = object()
# The types of most leaf values (enums besides), never awaitable: no call to tell.
_PLAIN_VALUES = frozenset({str, int, float, bool, datetime, date, Decimal})
# ...and of most completed values (objects, lists, nulls): tested before `is_awaitable`,
# which adds each type `await` cannot take that it meets (`_learning`), up to a bound.
_NEVER_AWAITED = set(_PLAIN_VALUES | {dict, list, type(None)})
_NEVER_AWAITED_MAX = 1_000


def _learning(is_awaitable: Callable[[Any], bool]) -> Callable[[Any], bool]:
    """``is_awaitable``, answering at once for the types it has found never awaitable: a
    type without `__await__` (where `await` looks), other than a coroutine's or a
    generator's. The objects an answer is made of are of a few dozen such types. Errors
    and `Undefined`, which completion tells apart, are never among them."""

    def learning_is_awaitable(value: Any) -> bool:
        kind = type(value)
        if kind in _NEVER_AWAITED:
            return False
        if is_awaitable(value):
            return True
        if (
            kind is not GeneratorType
            and value is not Undefined
            and not isinstance(value, BaseException)
            and not hasattr(kind, "__await__")
            and len(_NEVER_AWAITED) < _NEVER_AWAITED_MAX
        ):
            _NEVER_AWAITED.add(kind)
        return False

    return learning_is_awaitable


class LeafExecutor(StrawberryGraphQLCoreExecutionContext):
    """Strawberry's executor, executing fields without graphql-core's generic layers
    (see the module).

    Each selection set is planned when its first object is executed (once per operation,
    or once per document, `SharedSelection`): each field's definition and nodes, and
    whether it is a plain leaf. A leaf then costs a read and a coercion, and a `Path`
    only when it fails; the other fields are resolved by `_execute_step` and completed
    by `complete_value`, and the awaited ones are gathered as graphql-core gathers them.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.is_awaitable = _learning(self.is_awaitable)
        # graphql-core binds these to the executor it keeps them on: a cycle, which left
        # every operation's state (documents, loaders, results) to the cyclic collector.
        executor = weakref.proxy(self)
        self.async_helpers = GraphQLResolveInfoHelpers(
            gather=MethodType(type(self).gather_async_work, executor),
            track=MethodType(type(self).track_async_work, executor),
        )
        # By the identity of a grouped field set, kept alive with its plan.
        self._plans: dict[int, tuple[GroupedFieldSet, list[Step]]] = {}
        # By object type and the identity of a field's details, kept alive with the plan.
        self._subplans: dict[
            tuple[GraphQLObjectType, int], tuple[FieldDetailsList, list[Step] | None]
        ] = {}
        # No middleware wraps a resolver (an extension with a `resolve` hook would).
        self._plain = not (self.middleware_manager and self.middleware_manager.middlewares)

    def collect_subfields(
        self, return_type: GraphQLObjectType, field_details_list: FieldDetailsList
    ) -> CollectedFields:
        """graphql-core's, remembered across operations of the same parsed document when
        nothing but the document decides it (see `SharedSelection`)."""
        known = self._relevant_sub_fields.get((return_type, id(field_details_list)))
        if known is not None:  # graphql-core's own memo, for this operation's objects
            return known[1]
        if self.operation.variable_definitions:
            return super().collect_subfields(return_type, field_details_list)
        key = (return_type, self.operation, *(d.node for d in field_details_list))
        shared = _SHARED.get(key)
        if shared is None:
            collected = super().collect_subfields(return_type, field_details_list)
            if SharedSelection.may_share(field_details_list, collected):
                _SHARED.put(key, SharedSelection(key, collected))
            return collected
        # As graphql-core's own memo keeps it, for this operation's other objects.
        self._relevant_sub_fields[(return_type, id(field_details_list))] = (
            field_details_list,
            shared.collected,
        )
        return shared.collected

    def execute_collected_root_fields(
        self,
        root_type: GraphQLObjectType,
        root_value: Any,
        grouped_field_set: GroupedFieldSet,
        serially: bool,
        new_defer_usages: Sequence[DeferUsage],
    ) -> AwaitableOrValue[dict[str, Any]]:
        """graphql-core's, with the root fields shared as any selection is (`SharedSelection`)
        when nothing but the document decides them: their plan, and through it the plan of
        each selection below, are then found again rather than collected and made again
        for each operation."""
        if not (new_defer_usages or self.operation.variable_definitions):
            key = (root_type, self.operation)
            shared = _SHARED.get(key)
            if shared is None:
                collected = CollectedFields(grouped_field_set, [], [])
                if SharedSelection.may_share(
                    chain.from_iterable(grouped_field_set.values()), collected
                ):
                    shared = SharedSelection(key, collected)
                    _SHARED.put(key, shared)
            if shared is not None:
                grouped_field_set = shared.collected.grouped_field_set
        return super().execute_collected_root_fields(
            root_type, root_value, grouped_field_set, serially, new_defer_usages
        )

    def _plan(self, parent_type: GraphQLObjectType, fields: GroupedFieldSet) -> list[Step]:
        planned = self._plans.get(id(fields))
        if planned is not None:
            return planned[1]
        shared = _SHARED.of_fields(fields)
        if shared is None:
            plan = self._planned(parent_type, fields)
        else:
            if shared.plan is None:
                shared.plan = self._planned(parent_type, fields)
            plan = shared.plan
        self._plans[id(fields)] = (fields, plan)
        return plan

    def _planned(self, parent_type: GraphQLObjectType, fields: GroupedFieldSet) -> list[Step]:
        plan = []
        for response_name, field_details_list in fields.items():
            node = field_details_list[0].node
            field = self.schema.get_field(parent_type, node.name.value)
            plain = field is not None and not node.arguments
            leaf = _leaf(field) if plain else None  # type: ignore[arg-type]
            member = member_of(field) if plain else None  # type: ignore[arg-type]
            nodes = to_nodes(field_details_list)
            object_type = get_nullable_type(field.type) if field is not None else None
            if type(object_type) is not GraphQLObjectType:
                object_type = None
            plan.append(
                Step(
                    response_name,
                    field_details_list,
                    leaf,
                    member,
                    node.name.value,
                    field,
                    nodes,
                    object_type,  # type: ignore[arg-type]
                    _own_class(object_type) if object_type is not None else None,  # type: ignore[arg-type]
                )
            )
        return plan

    def execute_fields(
        self,
        parent_type: GraphQLObjectType,
        source_value: Any,
        path: Path | None,
        grouped_field_set: GroupedFieldSet,
        position_context: Any,
    ) -> AwaitableOrValue[dict[str, Any]]:
        if not self._plain:
            return super().execute_fields(
                parent_type, source_value, path, grouped_field_set, position_context
            )
        plan = self._plan(parent_type, grouped_field_set)
        return self._execute_plan(parent_type, source_value, path, plan, position_context)

    def _execute_plan(
        self,
        parent_type: GraphQLObjectType,
        source_value: Any,
        path: Path | None,
        plan: list[Step],
        position_context: Any = None,
    ) -> AwaitableOrValue[dict[str, Any]]:
        """graphql-core's `execute_fields` for a planned selection set: a plain leaf read
        and answered here, any other field by `_execute_step`."""
        results: dict[str, Any] = {}
        awaitable_fields: list[str] = []
        subplans = self._subplans
        try:
            for step in plan:
                leaf = step.leaf
                if leaf is not None:
                    try:
                        value = leaf.read(source_value, leaf.name)
                    except Exception as raw_error:  # as if returned: graphql-core raises it
                        value = raw_error
                    value_type = type(value)
                    if value_type is leaf.as_is:
                        results[step.response_name] = value
                        continue
                    if value_type is leaf.enum_class:
                        results[step.response_name] = leaf.names[value]
                        continue
                    if value is None and not leaf.non_null:
                        results[step.response_name] = None
                        continue
                    answer = self._answer_leaf(step, leaf, value, parent_type, path)
                    if answer is not _USUAL_PATH:
                        results[step.response_name] = answer
                        continue
                elif step.member is not None and position_context is None:
                    member = step.member
                    try:
                        value = member.read(
                            source_value,
                            self.context_value if member.with_context else member.name,
                        )
                    except Exception as raw_error:  # as if returned: graphql-core raises it
                        value = raw_error
                    object_type = member.object_type
                    kind = type(value)
                    # Not null, an error or awaitable (`_NEVER_AWAITED` holds none of them),
                    # and of the type: its subfields, else the usual path with the value.
                    if (
                        value is not None
                        and kind in _NEVER_AWAITED
                        and (
                            (kind is step.own_class and TYPE_CAST_ATTRIBUTE not in value.__dict__)
                            or object_type.is_type_of is None
                            or object_type.is_type_of(value, None)
                        )
                    ):
                        details = step.field_details_list
                        known = subplans.get((object_type, id(details)))
                        subplan = known[1] if known else self._subplan(object_type, details)
                        if subplan is not None:
                            result = self._execute_plan(
                                object_type,
                                value,
                                Path(path, step.response_name, parent_type.name),
                                subplan,
                            )
                            results[step.response_name] = result
                            if type(result) is not dict:
                                awaitable_fields.append(step.response_name)
                            continue
                else:
                    value = _UNREAD
                if step.field is None:  # not a field of this type: no answer, as graphql-core
                    continue
                result = self._execute_step(
                    step,
                    step.field,
                    parent_type,
                    source_value,
                    Path(path, step.response_name, parent_type.name),
                    position_context,
                    value,
                )
                results[step.response_name] = result
                if type(result) not in _NEVER_AWAITED and self.is_awaitable(result):
                    awaitable_fields.append(step.response_name)
        except Exception:
            if awaitable_fields:  # settled, as graphql-core settles them: they may fail too
                self.settle_in_background([results[name] for name in awaitable_fields])
            raise
        if not awaitable_fields:
            return results
        return _awaited(results, awaitable_fields)

    def _execute_step(
        self,
        step: Step,
        field: GraphQLField,
        parent_type: GraphQLObjectType,
        source: Any,
        path: Path,
        position_context: Any,
        read: Any,
    ) -> AwaitableOrValue[Any]:
        """graphql-core's `execute_field` for a planned field: its definition and nodes were
        found when the selection set was planned, and no middleware wraps its resolver
        (`execute_fields` leaves an operation with middleware to graphql-core). ``read``
        is a plain leaf's value already read (an awaitable), else `_UNREAD`."""
        return_type = field.type
        info = self.build_resolve_info(field, step.nodes, parent_type, path)
        try:
            first = step.field_details_list[0]
            args = (
                get_argument_values(
                    field,
                    first.node,
                    self.variable_values,
                    first.fragment_variable_values,
                    self.hide_suggestions,
                )
                if field.args or first.node.arguments
                else {}
            )
            if read is _UNREAD:
                result = (field.resolve or self.field_resolver)(source, info, **args)
            else:
                result = read
            kind = type(result)
            if kind not in _NEVER_AWAITED and self.is_awaitable(result):
                return self.complete_awaitable_value(
                    return_type, step.field_details_list, info, path, result, position_context
                )
            if step.object_type is not None and kind in _NEVER_AWAITED and result is not None:
                # An object (not null, an error or awaitable): what `complete_value` does.
                completed = self._complete_object(
                    step.object_type,
                    step.field_details_list,
                    info,
                    path,
                    result,
                    position_context,
                    step.own_class,
                )
            else:
                completed = self.complete_value(
                    return_type, step.field_details_list, info, path, result, position_context
                )
        except Exception as raw_error:
            self.handle_field_error(raw_error, return_type, step.field_details_list, path)
            return None
        if type(completed) not in _NEVER_AWAITED and self.is_awaitable(completed):
            return self._settled(completed, return_type, step.field_details_list, path)
        return completed

    async def _settled(
        self,
        completion: Awaitable[Any],
        return_type: GraphQLOutputType,
        field_details_list: FieldDetailsList,
        path: Path,
    ) -> Any:
        """An awaited completion, its error handled as the field's (graphql-core's)."""
        try:
            return await completion
        except Exception as raw_error:
            self.handle_field_error(raw_error, return_type, field_details_list, path)
            return None

    def complete_value(
        self,
        return_type: GraphQLOutputType,
        field_details_list: FieldDetailsList,
        info: GraphQLResolveInfo,
        path: Path,
        result: Any,
        position_context: Any,
    ) -> AwaitableOrValue[Any]:
        """graphql-core's, with an object (edges, nodes, cards) and a list of anything
        completed directly instead of through one generic completion per type wrapper,
        five type tests and three more layers per object. An object's completion is a dict
        or an awaitable, never None, so a non-null wrapper has nothing to check; a list
        is completed here only outside incremental delivery and without `@stream`."""
        if result is not None and result is not Undefined and not isinstance(result, Exception):
            nullable = return_type.of_type if type(return_type) is GraphQLNonNull else return_type
            kind = type(nullable)
            if kind is GraphQLObjectType:
                return self._complete_object(
                    nullable,
                    field_details_list,
                    info,
                    path,
                    result,
                    position_context,
                    _own_class(nullable),  # type: ignore[arg-type]
                )
            if (
                kind is GraphQLList
                and type(result) in (list, tuple)
                and position_context is None
                and not field_details_list[0].node.directives
            ):
                return self._complete_list(
                    nullable.of_type,
                    field_details_list,
                    info,
                    path,
                    result,  # type: ignore[union-attr]
                )
        return super().complete_value(
            return_type, field_details_list, info, path, result, position_context
        )

    def _complete_object(
        self,
        object_type: GraphQLObjectType,
        field_details_list: FieldDetailsList,
        info: GraphQLResolveInfo,
        path: Path,
        result: Any,
        position_context: Any,
        own_class: type | None,
    ) -> AwaitableOrValue[dict[str, Any]]:
        """graphql-core's `complete_object_value` for a type whose `is_type_of` answers at
        once (Strawberry's do), its subfields executed here unless some are deferred;
        ``own_class`` is the type's `own_class_of`."""
        if object_type.is_type_of is not None and not (
            type(result) is own_class and TYPE_CAST_ATTRIBUTE not in result.__dict__
        ):
            fits = object_type.is_type_of(result, info)
            if type(fits) is not bool:  # an awaitable check: graphql-core awaits it
                _close(fits)
                return self.complete_object_value(
                    object_type, field_details_list, info, path, result, position_context
                )
            if not fits:
                raise invalid_return_type_error(object_type, result, field_details_list)
        if position_context is None and self._plain:
            known = self._subplans.get((object_type, id(field_details_list)))
            plan = known[1] if known else self._subplan(object_type, field_details_list)
            if plan is not None:
                return self._execute_plan(object_type, result, path, plan)
        collected = self.collect_subfields(object_type, field_details_list)
        return self.execute_collected_subfields(
            object_type,
            result,
            path,
            collected.grouped_field_set,
            collected.new_defer_usages,
            position_context,
        )

    def _subplan(
        self, object_type: GraphQLObjectType, field_details_list: FieldDetailsList
    ) -> list[Step] | None:
        """The plan of an object's subfields, as `collect_subfields` collects them, by the
        identity of the field's details (as graphql-core's own memo); None when some of
        them are deferred. The paths run for every object read `_subplans` themselves
        first and call this only for a plan not made yet.

        A field of a shared selection keeps the plan of its own shared selection with
        that selection (`SharedSelection.subplans`): an operation of the same document
        then finds it at once, where collecting the selection again costs more than the
        field's execution."""
        key = (object_type, id(field_details_list))
        known = self._subplans.get(key)
        if known is None:
            parent = _SHARED.holding(field_details_list)
            shared_key = (id(object_type), id(field_details_list))
            kept = parent.subplans.get(shared_key) if parent is not None else None
            if kept is not None:
                plan: list[Step] | None = kept[1]
            else:
                collected = self.collect_subfields(object_type, field_details_list)
                fields = collected.grouped_field_set
                plan = None if collected.new_defer_usages else self._plan(object_type, fields)
                if parent is not None and plan is not None and _SHARED.of_fields(fields):
                    parent.subplans[shared_key] = (object_type, plan)
            known = self._subplans[key] = (field_details_list, plan)
        return known[1]

    def _complete_list(
        self,
        item_type: GraphQLOutputType,
        field_details_list: FieldDetailsList,
        info: GraphQLResolveInfo,
        path: Path,
        items: list[Any] | tuple[Any, ...],
    ) -> AwaitableOrValue[list[Any]]:
        """graphql-core's `complete_iterable_value` for a list or tuple with no `@stream`:
        each item completed, an item's error handled as graphql-core handles it, and the
        awaitable ones awaited together. The items of an object type run its subfields'
        plan, found once for the list."""
        is_awaitable = self.is_awaitable
        object_type = get_nullable_type(item_type)
        planned = type(object_type) is GraphQLObjectType and self._plain
        plan = self._subplan(object_type, field_details_list) if planned else None  # type: ignore[arg-type]
        is_type_of = object_type.is_type_of if planned else None  # type: ignore[union-attr]
        own_class = _own_class(object_type) if planned else None  # type: ignore[arg-type]
        completed: list[Any] = []
        awaitable_indices: list[int] = []
        try:
            for index, item in enumerate(items):
                item_path = Path(path, index, None)  # `add_key`, without its call
                if type(item) not in _NEVER_AWAITED and is_awaitable(item):
                    completed.append(
                        self.complete_awaitable_list_item_value(
                            item, item_type, field_details_list, info, item_path, None
                        )
                    )
                    awaitable_indices.append(index)
                    continue
                try:
                    # An object of the type (not null, an error or awaitable: see
                    # `_NEVER_AWAITED`); anything else, completed as any value.
                    if (
                        plan is not None
                        and item is not None
                        and type(item) in _NEVER_AWAITED
                        and (
                            (type(item) is own_class and TYPE_CAST_ATTRIBUTE not in item.__dict__)
                            or is_type_of is None
                            or is_type_of(item, info) is True
                        )
                    ):
                        value = self._execute_plan(object_type, item, item_path, plan)  # type: ignore[arg-type]
                    else:
                        value = self.complete_value(
                            item_type, field_details_list, info, item_path, item, None
                        )
                except Exception as raw_error:
                    self.handle_field_error(raw_error, item_type, field_details_list, item_path)
                    value = None
                if type(value) not in _NEVER_AWAITED and is_awaitable(value):
                    value = self._settled(value, item_type, field_details_list, item_path)
                    awaitable_indices.append(index)
                completed.append(value)
        except Exception:
            pending = [completed[index] for index in awaitable_indices]
            pending += [item for item in items[len(completed) + 1 :] if is_awaitable(item)]
            if pending:  # settled, as graphql-core settles them: they may fail too
                self.settle_in_background(pending)
            raise
        if not awaitable_indices:
            return completed
        return _awaited(completed, awaitable_indices)

    def _answer_leaf(
        self, step: Step, leaf: Leaf, value: Any, parent_type: GraphQLObjectType, path: Path | None
    ) -> Any:
        """The completed ``value`` of a leaf that is not one answered as it is, its error
        handled as graphql-core handles it (a non-null field's error raised on, located);
        `_USUAL_PATH` for an awaitable."""
        try:
            if value is None or value is Undefined:
                if leaf.non_null:
                    field_name = f"{parent_type}.{step.field_name}"
                    raise TypeError(f"Cannot return null for non-nullable field {field_name}.")
                return None
            if isinstance(value, Exception):
                raise value
            plain = type(value) in _PLAIN_VALUES or isinstance(value, Enum)
            if not plain and self.is_awaitable(value):
                return _USUAL_PATH
            return self.complete_leaf_value(leaf.leaf_type, value)
        except Exception as raw_error:
            field_path = Path(path, step.response_name, parent_type.name)
            self.handle_field_error(raw_error, step.field_type, step.field_details_list, field_path)  # type: ignore[arg-type]
            return None


async def _awaited[R: (dict[str, Any], list[Any])](results: R, awaitable: list[Any]) -> R:
    """``results`` (fields by name, or items) with its awaitable entries, at the keys
    ``awaitable``, awaited together, as graphql-core awaits them."""
    if len(awaitable) == 1:
        (key,) = awaitable
        results[key] = await results[key]
    else:
        awaited = await gather_with_cancel(*(results[key] for key in awaitable))
        for key, value in zip(awaitable, awaited, strict=True):
            results[key] = value
    return results


def _close(check: Any) -> None:
    """Closes an unawaited coroutine (graphql-core calls the check again and awaits that)."""
    if isinstance(check, Coroutine):
        check.close()


# Where `with_context` leaves the reader its resolver calls.
READS_CONTEXT = "reads_context"


def with_context[S, R](read: Callable[[S, Any], R]) -> Callable[[S, strawberry.Info], R]:
    """A resolver answering ``read(self, info.context)``, for a field every object of a list
    shows (`Request.policy`). When nothing else wraps it (no field extension, no
    middleware) and its type is a plain object type, `LeafExecutor` calls ``read`` with
    the operation's context itself: no resolve info is built for it."""

    def resolve(self: S, info: strawberry.Info) -> R:
        return read(self, info.context)

    setattr(resolve, READS_CONTEXT, read)
    return resolve


def _direct_call(
    resolver: StrawberryResolver[Any], field: StrawberryField, schema: strawberry.Schema
) -> Callable[..., Any]:
    """The resolve function of a field: the resolver called with its arguments, object,
    parent or root and `Info` as Strawberry's `get_arguments` passes them; it keeps a
    `with_context` resolver's reader (`member_of`)."""
    resolve = _calling(resolver, field, schema)
    reads_context = getattr(resolver.wrapped_func, READS_CONTEXT, None)
    if reads_context is not None:
        setattr(resolve, READS_CONTEXT, reads_context)
    return resolve


def _calling(
    resolver: StrawberryResolver[Any], field: StrawberryField, schema: strawberry.Schema
) -> Callable[..., Any]:
    """A call of ``resolver`` with what it asks for (see `_direct_call`): its arguments
    converted as Strawberry's `convert_arguments` converts them (input objects to their
    classes, enums to members, names to the Python ones)."""
    function = resolver.wrapped_func
    info_class = schema.config.info_class
    by_source = [p.name for p in (resolver.parent_parameter, resolver.root_parameter) if p]
    info_name = resolver.info_parameter.name if resolver.info_parameter else None
    with_self = resolver.self_parameter is not None
    arguments = field.arguments
    if with_self and not by_source and not arguments:  # most methods: no dict to build
        if info_name is None:
            return lambda source, _info: function(source)
        return lambda source, info: function(
            source, **{info_name: info_class(_raw_info=info, _field=field)}
        )
    scalars, config = schema.schema_converter.scalar_registry, schema.config

    def resolve(source: Any, info: GraphQLResolveInfo, **given: Any) -> Any:
        strawberry_info = info_class(_raw_info=info, _field=field)
        kwargs = convert_arguments(given, arguments, scalars, config, strawberry_info)
        kwargs.update(dict.fromkeys(by_source, source))
        if info_name is not None:
            kwargs[info_name] = strawberry_info
        return function(source, **kwargs) if with_self else function(**kwargs)

    return resolve


def _read_attribute(field: StrawberryField) -> Callable[..., Any]:
    """The resolve function of a field without a resolver: its attribute, read as
    Strawberry's basic-field resolver reads it, without its two layers."""
    read, name = field.default_resolver, field.python_name

    def resolve(source: Any, _info: GraphQLResolveInfo) -> Any:
        return read(source, name)

    resolve._is_default = True  # type: ignore[attr-defined]  # as Strawberry marks its own
    resolve.reads_attribute = (read, name)  # type: ignore[attr-defined]  # for `member_of`
    return resolve


def resolve_directly(schema: strawberry.Schema) -> None:
    """Gives every query and mutation field with a resolver and no field extension
    (permission classes are one) a resolve function that calls the resolver directly
    (see the module), and every field of an object or list type without a resolver or
    extension one that reads its attribute (a leaf's is read by `LeafExecutor` itself).
    A schema with exception handlers, which Strawberry applies in its resolver layers,
    is left as it is."""
    if schema.exception_handlers:
        return
    subscription = schema._schema.subscription_type
    for graphql_type in schema._schema.type_map.values():
        if not isinstance(graphql_type, GraphQLObjectType) or graphql_type is subscription:
            continue
        for field in graphql_type.fields.values():
            definition = (field.extensions or {}).get(GraphQLCoreConverter.DEFINITION_BACKREF)
            if (
                isinstance(definition, StrawberryField)
                and definition.base_resolver is not None
                and not definition.extensions
            ):
                field.resolve = _direct_call(definition.base_resolver, definition, schema)
            elif (
                isinstance(definition, StrawberryField)
                and definition.is_basic_field
                and not definition.extensions
                and not field.args
                and not is_leaf_type(get_nullable_type(field.type))
            ):
                field.resolve = _read_attribute(definition)
