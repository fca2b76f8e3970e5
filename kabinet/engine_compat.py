"""A start-up patch of the embedded engine (mongoeco) for the costs that grow with the data.

mongoeco 4.11 (the newest release) keeps every index we need, but three of its code paths
do not use them, so each costs O(collection) (issue 14, measured in docs/performance.md):

- every insert decodes the whole collection to look for an ``_id`` equal to the new one
  (``scan_payload_id``), although it has just looked the ``_id`` up by its storage key;
- a filter on ``_id`` (equality or ``$in``) is matched with ``json_extract`` on every row,
  although each row's storage key is derived from its ``_id``;
- an equality or ``$in`` on a field with a single-field index (``policies.phones``) runs,
  per row of the collection, a correlated subquery over the index entries.

The patch narrows each to the rows the engine's own indexes name and keeps the engine's
predicate as it was, so the result is the same set (the key narrows, never widens):

- for an ``_id`` that is an ObjectId or a string, equal ids have the same storage key
  (``repr((type, value))``), so the storage-key probe the engine already makes is exact and
  the payload scan is skipped; numeric and compound ids (1 == 1.0) keep the scan. A
  duplicate ``_id`` or unique key still raises 11000 (tests/test_query_plans.py);
- ``_id`` filters also require ``documents.storage_key`` to be one of those keys;
- equality or ``$in`` with string values on a field with a single-field index also require
  the row's key to be among the index entries for those values: array elements are in
  ``multikey_entries``, plain values in ``scalar_index_entries``, both kept by the engine
  on every write.

It is written for one version: `apply` refuses any other, and a test fails when the pinned
version changes, so the patch is re-examined (and dropped if the engine fixed these).
"""

import importlib.metadata
from typing import Any

PATCHED_VERSION = "4.11.0"

_applied = False


def _exact_storage_key_type(value: object) -> bool:
    """Whether BSON equality of ``_id`` values of this type is equality of storage keys."""
    from mongoeco.types import ObjectId

    return type(value) in (ObjectId, str)


def apply() -> None:
    """Patch the engine's classes once; raises if the installed version is not the pinned one."""
    global _applied  # noqa: PLW0603 - a process-wide, idempotent patch
    if _applied:
        return
    installed = importlib.metadata.version("mongoeco")
    if installed != PATCHED_VERSION:
        raise RuntimeError(
            f"kabinet/engine_compat.py was written for mongoeco {PATCHED_VERSION}, "
            f"found {installed}: re-examine the patch"
        )
    from mongoeco.core.query_plan import EqualsCondition, InCondition
    from mongoeco.engines.memory import MemoryEngine
    from mongoeco.engines.sqlite import SQLiteEngine

    validate_unique = SQLiteEngine._validate_document_against_unique_indexes

    def validate_without_payload_scan(
        self: SQLiteEngine, db_name: str, coll_name: str, document: Any, **options: Any
    ) -> None:
        if _exact_storage_key_type(document.get("_id")):
            options["scan_payload_id"] = False
        validate_unique(self, db_name, coll_name, document, **options)

    ensure_unique = MemoryEngine._ensure_unique_indexes

    def ensure_without_payload_scan(
        self: MemoryEngine, db_name: str, coll_name: str, candidate: Any, **options: Any
    ) -> None:
        if options.get("check_id_storage") and _exact_storage_key_type(candidate.get("_id")):
            options["scan_payload_id"] = False
        ensure_unique(self, db_name, coll_name, candidate, **options)

    translate = SQLiteEngine._translate_query_plan_with_multikey

    def translate_by_key(
        self: SQLiteEngine, db_name: str, coll_name: str, plan: Any
    ) -> tuple[str, list[object]]:
        sql, params = translate(self, db_name, coll_name, plan)
        if not isinstance(plan, EqualsCondition | InCondition):
            return sql, params
        values = [plan.value] if isinstance(plan, EqualsCondition) else list(plan.values)
        if not values:
            return sql, params
        if plan.field == "_id":
            if not all(_exact_storage_key_type(value) for value in values):
                return sql, params
            keys = [self._storage_key(value) for value in values]
            marks = ", ".join("?" * len(keys))
            return f"(documents.storage_key IN ({marks}) AND ({sql}))", [*keys, *params]
        narrowed = _index_entries_sql(self, db_name, coll_name, plan.field, values)
        if narrowed is None:
            return sql, params
        entries_sql, entries_params = narrowed
        return f"(documents.storage_key IN ({entries_sql}) AND ({sql}))", [
            *entries_params,
            *params,
        ]

    SQLiteEngine._validate_document_against_unique_indexes = validate_without_payload_scan  # type: ignore[method-assign]
    MemoryEngine._ensure_unique_indexes = ensure_without_payload_scan  # type: ignore[method-assign]
    SQLiteEngine._translate_query_plan_with_multikey = translate_by_key  # type: ignore[method-assign]
    _applied = True


def _index_entries_sql(
    engine: Any, db_name: str, coll_name: str, field: str, values: list[object]
) -> tuple[str, list[object]] | None:
    """The storage keys a single-field index holds for string ``values``, as a subquery."""
    if not all(type(value) is str for value in values):
        return None
    index = engine._find_multikey_index(db_name, coll_name, field)
    if index is None or not index.get("scalar_physical_name"):
        return None
    collection_id = engine._lookup_collection_id(engine._require_connection(), db_name, coll_name)
    if collection_id is None:
        return None
    type_score = engine._multikey_type_score("string")
    marks = ", ".join("?" * len(values))
    selects = []
    params: list[object] = []
    for table, physical in (
        ("multikey_entries", index["multikey_physical_name"]),
        ("scalar_index_entries", index["scalar_physical_name"]),
    ):
        selects.append(
            f"SELECT storage_key FROM {table} INDEXED BY {engine._quote_identifier(str(physical))} "
            "WHERE collection_id = ? AND index_name = ? AND type_score = ? "
            f"AND element_type = 'string' AND element_key IN ({marks})"
        )
        params.extend([collection_id, index["name"], type_score, *values])
    return " UNION ALL ".join(selects), params
