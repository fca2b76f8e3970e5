"""Execution of plain leaf fields without graphql-core's and Strawberry's per-field layers.

Most fields of an answer are a scalar or an enum read off an object (`number`, `status`
of twenty requests, the fields of each card). graphql-core builds a resolve info for each,
Strawberry calls its "basic field" resolver through three more layers to end in
``getattr``, and graphql-core completes the value through its generic `complete_value`:
about twenty calls for one attribute, a quarter of kabinet's CPU for a `me`.

`LeafExecutor` answers such a field directly: the attribute through the field's own
default resolver, then the leaf type's output coercion, with graphql-core's errors (a
null for a non-null field, a value the type cannot serialise) located and reported as
graphql-core reports them. Every other field, and any operation run with middleware
(an extension with a `resolve` hook), takes graphql-core's path unchanged.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from graphql import (
    GraphQLField,
    GraphQLLeafType,
    GraphQLNonNull,
    GraphQLObjectType,
    Undefined,
    UndefinedType,
    is_leaf_type,
)
from graphql.execution.collect_fields import FieldDetailsList
from graphql.pyutils import AwaitableOrValue, Path
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext
from strawberry.schema.schema_converter import GraphQLCoreConverter
from strawberry.types.field import StrawberryField


@dataclass(frozen=True, slots=True)
class Leaf:
    """How to answer one plain leaf field: ``read(source, name)``, then ``leaf_type``."""

    read: Callable[[Any, str], Any]
    name: str
    leaf_type: GraphQLLeafType
    non_null: bool


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
        strawberry_field.default_resolver, strawberry_field.python_name, leaf_type, non_null
    )


# By the identity of each field definition (graphql-core's are unhashable), with the
# definition kept so that an identity is never reused by another.
_LEAVES: dict[int, tuple[GraphQLField, Leaf | None]] = {}


def _leaf(field: GraphQLField) -> Leaf | None:
    known = _LEAVES.get(id(field))
    if known is None or known[0] is not field:
        known = _LEAVES[id(field)] = (field, leaf_of(field))
    return known[1]


class LeafExecutor(StrawberryGraphQLCoreExecutionContext):
    """Strawberry's executor, answering plain leaf fields directly (see the module)."""

    def execute_field(
        self,
        parent_type: GraphQLObjectType,
        source: Any,
        field_details_list: FieldDetailsList,
        path: Path,
        position_context: Any,
    ) -> AwaitableOrValue[Any] | UndefinedType:
        node = field_details_list[0].node
        field = self.schema.get_field(parent_type, node.name.value)
        leaf = _leaf(field) if field is not None and not node.arguments else None
        if leaf is None or (self.middleware_manager and self.middleware_manager.middlewares):
            return super().execute_field(
                parent_type, source, field_details_list, path, position_context
            )
        try:
            value = leaf.read(source, leaf.name)
            if value is None or value is Undefined:
                if leaf.non_null:
                    field_name = f"{parent_type}.{node.name.value}"
                    raise TypeError(f"Cannot return null for non-nullable field {field_name}.")
                return None
            if isinstance(value, Exception):
                raise value
            if self.is_awaitable(value):  # not a plain attribute after all: the usual path
                return super().execute_field(
                    parent_type, source, field_details_list, path, position_context
                )
            return self.complete_leaf_value(leaf.leaf_type, value)
        except Exception as raw_error:
            self.handle_field_error(raw_error, field.type, field_details_list, path)  # type: ignore[union-attr]
            return None
