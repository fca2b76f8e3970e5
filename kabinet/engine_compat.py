"""A start-up patch of the embedded engine (mongoeco) for the costs that grow with the data.

mongoeco 4.11 (the newest release) keeps every index we need, but four of its code paths
do not use them, so each costs O(collection) (issue 14, measured in docs/performance.md):

- every insert decodes the whole collection to look for an ``_id`` equal to the new one
  (``scan_payload_id``), although it has just looked the ``_id`` up by its storage key;
- every write to a collection with a compound unique index decodes the whole collection
  to check that index (only single-field ones are checked through index entries);
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
- a compound unique index whose values in the written document are all top-level
  ObjectIds or strings is checked against the documents holding those values only (the
  engine's own query and conflict check), then hidden from the engine's full check;
- ``_id`` filters also require ``documents.storage_key`` to be one of those keys;
- equality or ``$in`` with string values on a field with a single-field index also require
  the row's key to be among the index entries for those values: array elements are in
  ``multikey_entries``, plain values in ``scalar_index_entries``, both kept by the engine
  on every write.

It is written for one version: `apply` refuses any other, and a test fails when the pinned
version changes, so the patch is re-examined (and dropped if the engine fixed these).
"""

import importlib.metadata
from contextvars import ContextVar
from typing import Any

PATCHED_VERSION = "4.11.0"

_applied = False
# The compound unique indexes a write was already checked against (hidden from the engine's
# own check, which would decode the whole collection for each).
_checked_indexes: ContextVar[frozenset[str]] = ContextVar("checked", default=frozenset())


def _exact_storage_key_type(value: object) -> bool:
    """Whether BSON equality of ``_id`` values of this type is equality of storage keys."""
    from mongoeco.types import ObjectId

    return type(value) in (ObjectId, str)


def apply() -> None:
    """Patch the engine's classes once; raises if the installed version is not the pinned one."""
    global _applied
    if _applied:
        return
    installed = importlib.metadata.version("mongoeco")
    if installed != PATCHED_VERSION:
        raise RuntimeError(
            f"kabinet/engine_compat.py was written for mongoeco {PATCHED_VERSION}, "
            f"found {installed}: re-examine the patch"
        )
    from mongoeco.core.query_plan import AndCondition, EqualsCondition, InCondition
    from mongoeco.engines.memory import MemoryEngine
    from mongoeco.engines.sqlite import SQLiteEngine

    validate_unique = SQLiteEngine._validate_document_against_unique_indexes
    load_indexes = SQLiteEngine._load_indexes

    def validate_by_key(
        self: SQLiteEngine, db_name: str, coll_name: str, document: Any, **options: Any
    ) -> None:
        if _exact_storage_key_type(document.get("_id")):
            options["scan_payload_id"] = False
        checked = _check_compound_unique(
            self, db_name, coll_name, document, options.get("exclude_storage_key")
        )
        token = _checked_indexes.set(checked)
        try:
            validate_unique(self, db_name, coll_name, document, **options)
        finally:
            _checked_indexes.reset(token)

    def load_unchecked_indexes(self: SQLiteEngine, db_name: str, coll_name: str) -> Any:
        indexes = load_indexes(self, db_name, coll_name)
        checked = _checked_indexes.get()
        return [index for index in indexes if index["name"] not in checked] if checked else indexes

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
        clauses = plan.clauses if isinstance(plan, AndCondition) else (plan,)
        for clause in clauses:
            if not isinstance(clause, EqualsCondition | InCondition) or clause.field != "_id":
                continue
            values = [clause.value] if isinstance(clause, EqualsCondition) else clause.values
            if values and all(_exact_storage_key_type(value) for value in values):
                keys = [self._storage_key(value) for value in values]
                marks = ", ".join("?" * len(keys))
                return f"(documents.storage_key IN ({marks}) AND ({sql}))", [*keys, *params]
        for clause in clauses:
            narrowed = _index_entries_sql(self, db_name, coll_name, clause, plan)
            if narrowed is not None:
                entries_sql, entries_params = narrowed
                return f"(documents.storage_key IN ({entries_sql}) AND ({sql}))", [
                    *entries_params,
                    *params,
                ]
        return sql, params

    SQLiteEngine._validate_document_against_unique_indexes = validate_by_key  # type: ignore[method-assign]
    SQLiteEngine._load_indexes = load_unchecked_indexes  # type: ignore[method-assign]
    MemoryEngine._ensure_unique_indexes = ensure_without_payload_scan  # type: ignore[method-assign]
    SQLiteEngine._translate_query_plan_with_multikey = translate_by_key  # type: ignore[method-assign]
    _applied = True


def _index_entries_sql(
    engine: Any, db_name: str, coll_name: str, clause: Any, plan: Any
) -> tuple[str, list[object]] | None:
    """The storage keys a single-field index holds for the values of an equality or `$in`
    ``clause`` of ``plan``, as a subquery; ``None`` when no index can say it exactly."""
    from mongoeco.core.query_plan import EqualsCondition, InCondition
    from mongoeco.engines.virtual_indexes import query_can_use_index

    if not isinstance(clause, EqualsCondition | InCondition) or clause.null_matches_undefined:
        return None
    values = [clause.value] if isinstance(clause, EqualsCondition) else list(clause.values)
    if not values or not all(_exact_storage_key_type(value) for value in values):
        return None
    index = next(
        (
            index
            for index in engine._load_indexes(db_name, coll_name)
            if index["fields"] == [clause.field]
            and index.get("scalar_physical_name")
            and engine._supports_scalar_index(index)
            and index.get("collation") is None
            and query_can_use_index(index, plan)  # partial and sparse: only if plan implies
        ),
        None,
    )
    if index is None:
        return None
    collection_id = engine._lookup_collection_id(engine._require_connection(), db_name, coll_name)
    if collection_id is None:
        return None
    tables = [("scalar_index_entries", index["scalar_physical_name"])]
    if index.get("multikey") and index.get("multikey_physical_name"):
        tables.append(("multikey_entries", index["multikey_physical_name"]))
    selects = []
    params: list[object] = []
    for value in values:
        element_type, element_key = engine._multikey_value_signature(value)
        type_score = engine._multikey_type_score(element_type)
        for table, physical in tables:
            selects.append(
                f"SELECT storage_key FROM {table} "  # noqa: S608 - names from the engine; values bound
                f"INDEXED BY {engine._quote_identifier(str(physical))} "
                "WHERE collection_id = ? AND index_name = ? AND type_score = ? "
                "AND element_type = ? AND element_key = ?"
            )
            params.extend([collection_id, index["name"], type_score, element_type, element_key])
    return " UNION ALL ".join(selects), params


def _check_compound_unique(
    engine: Any, db_name: str, coll_name: str, document: Any, exclude_storage_key: str | None
) -> frozenset[str]:
    """Check ``document`` against each compound unique index whose values in it are all
    ObjectIds or strings, among the documents with those values (found by the engine's own
    query, which its indexes serve); raise 11000 on a conflict, as the engine would. The
    names checked; the engine checks the others (its check decodes the whole collection)."""
    from mongoeco.core.query_plan import compile_filter
    from mongoeco.engines.virtual_indexes import document_in_virtual_index

    checked = set()
    for index in engine._load_indexes(db_name, coll_name):
        fields = index["fields"]
        if not index["unique"] or len(fields) < 2 or index.get("collation") is not None:
            continue
        if not document_in_virtual_index(document, index):
            continue
        values = {field: document.get(field) for field in fields}
        if "." in "".join(fields) or not all(map(_exact_storage_key_type, values.values())):
            continue
        where, params = engine._translate_query_plan_with_multikey(
            db_name, coll_name, compile_filter(values)
        )
        rows = engine._require_connection().execute(
            "SELECT storage_key, document FROM documents "  # noqa: S608 - the engine's SQL
            f"WHERE db_name = ? AND coll_name = ? AND ({where})",
            (db_name, coll_name, *params),
        )
        for storage_key, payload in rows:
            if storage_key == exclude_storage_key:
                continue
            existing = engine._deserialize_document(payload)
            if not document_in_virtual_index(existing, index):
                continue
            conflict = engine._unique_index_conflict(document, existing, index)
            if conflict is not None:
                raise engine._unique_key_error(
                    f"Duplicate key for unique index '{index['name']}': {fields}={conflict!r}",
                    f"{db_name}.{coll_name}",
                    document,
                    index=index,
                    conflict=conflict,
                )
        checked.add(index["name"])
    return frozenset(checked)
