"""Relay cursor connections: shared page info and cursor encoding."""

import base64
from collections.abc import Awaitable, Callable, Iterable
from datetime import datetime
from typing import Self

import strawberry
from beanie import PydanticObjectId
from graphql import FieldNode, FragmentDefinitionNode, FragmentSpreadNode, SelectionNode

from kabinet.schema.ids import object_id

MAX_PAGE_SIZE = 100
DEFAULT_PAGE_SIZE = 20


@strawberry.type
class Counted:
    """A page whose list's total is a separate command: run only when a client asks."""

    count: strawberry.Private[Callable[[], Awaitable[int]]]

    @strawberry.field(description="How many match in all (counted only when asked for).")
    async def total_count(self) -> int:
        return await self.count()


@strawberry.type(description="Where a page sits in its list.")
class PageInfo:
    has_next_page: bool = strawberry.field(description="Whether `after: endCursor` gives more.")
    has_previous_page: bool = strawberry.field(description="Whether items come before this page.")
    start_cursor: str | None = strawberry.field(description="Cursor of the first item.")
    end_cursor: str | None = strawberry.field(description="Cursor of the last item.")

    @classmethod
    def of(cls, cursors: list[str], *, has_next: bool, after: str | None) -> Self:
        """The page info of a forward page whose items have these cursors."""
        return cls(
            has_next_page=has_next,
            has_previous_page=after is not None,
            start_cursor=cursors[0] if cursors else None,
            end_cursor=cursors[-1] if cursors else None,
        )


def encode_cursor(value: str) -> str:
    return base64.urlsafe_b64encode(value.encode()).decode()


def decode_cursor(cursor: str | None) -> str | None:
    if not cursor:
        return None
    try:
        return base64.urlsafe_b64decode(cursor.encode()).decode()
    except (ValueError, UnicodeDecodeError):
        return None


def page_size(first: int | None) -> int:
    """`first`, within 1..100 (default 20)."""
    return min(max(first or DEFAULT_PAGE_SIZE, 1), MAX_PAGE_SIZE)


def selected_at(info: strawberry.Info, path: tuple[str, ...]) -> set[str]:
    """The names of the fields selected at ``path`` below the field ``info`` resolves
    (e.g. a connection's ``("edges", "node")``), through fragments and aliases, whatever
    `@skip` and `@include` decide. Read from the document's nodes: Strawberry's
    `selected_fields` would first convert the field's whole selection, arguments and
    directives included, on every read of a page."""
    raw = info._raw_info
    return _selected_at(raw.field_nodes, (raw.field_name, *path), raw.fragments)


def _selected_at(
    selections: Iterable[SelectionNode],
    path: tuple[str, ...],
    fragments: dict[str, FragmentDefinitionNode],
) -> set[str]:
    names: set[str] = set()
    for selection in selections:
        if isinstance(selection, FieldNode):
            if not path:
                names.add(selection.name.value)
            elif selection.name.value == path[0] and selection.selection_set:
                names |= _selected_at(selection.selection_set.selections, path[1:], fragments)
            continue
        if isinstance(selection, FragmentSpreadNode):
            fragment = fragments.get(selection.name.value)
            selection_set = fragment.selection_set if fragment is not None else None
        else:
            selection_set = selection.selection_set  # type: ignore[attr-defined]  # inline
        if selection_set is not None:
            names |= _selected_at(selection_set.selections, path, fragments)
    return names


def encode_time_cursor(at: datetime, item_id: PydanticObjectId | None, order: str = "") -> str:
    """The cursor of an item in a list in time order (see resolvers/pages.py); an ``order``
    other than newest first is named in it, so a cursor of one order is refused by another."""
    return encode_cursor(f"{order}{at.isoformat()}|{item_id}")


def decode_time_cursor(
    cursor: str | None, order: str = ""
) -> tuple[datetime, PydanticObjectId] | None:
    """The (time, id) in a cursor of ``encode_time_cursor`` for ``order``; ``None`` for
    anything else."""
    decoded = decode_cursor(cursor)
    if not decoded or "|" not in decoded or not decoded.startswith(order):
        return None
    at, _, raw_id = decoded.removeprefix(order).partition("|")
    item_id = object_id(raw_id)
    try:
        return (datetime.fromisoformat(at), item_id) if item_id else None
    except ValueError:
        return None
