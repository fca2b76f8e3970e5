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
  on every write; an ``$all`` of strings requires entries for all of them, an ``$and``
  one of its clauses' keys, an ``$or`` one of its branches' when each has some.

A fifth cost is in how the engine plans a read. Before it translates a query into SQL it
asks of the collection, per field the query names or sorts by, whether any document holds
a value SQL cannot compare there (an array, bytes, `undefined`, a decimal...); the answers
are cached, but the engine drops a collection's answers on every write to it, so after each
write the next read scans the whole collection once per question (nine scans of `requests`
for one `me` after a createRequest). And for a sort it asks once more, uncached, of the
documents the query matches. The patch keeps the answers across writes: a SQLite trigger
notes the rows each write inserts or updates, and an answer "no document has it" is asked
again of those rows alone (the engine's own check, run on a scratch copy of them); "some
document has it" stays, which is always safe (it only sends queries to the engine's general
path), and deletions cannot make a "no" wrong. The sort's last question is asked of the
whole collection once, kept the same way, and only when some document has such a value is
it asked of the query's documents, as the engine does.

A sixth cost is in every write. The engine gives each logical index its own SQLite index
on the shared entry tables, all on the same columns: the cards' ten multikey indexes and
eighteen single-field ones made each inserted entry update ten or eighteen identical
B-trees. The patch points every index record at one (`kabinet_<table>_lookup`) per table
(the engine names it in `INDEXED BY` and creates it if missing, as it did its own) and
drops the copies, so an import or an index build writes each entry into one B-tree.

A seventh is at start-up: the engine rebuilds every single-field index entry each time
it opens a file; the patch does it once per file (see `_backfill_once`).

An eighth is in the engine's test of an array element: "this document has an entry
equal to the value" named the index's leading columns but not its type score, so SQLite
read every entry of the index for each document tested (200 cards of a number prefix,
each reading the 1.3 million search-key entries: 17 s). The patch adds the type score
(a function of the element type, stored with every entry), so the test is one seek.

A ninth is in sorting by an indexed field: the engine walks that field's index entries
and joins each document, testing the filter row by row, so a search for one card among
40,000, sorted by number, read all 40,000. When the filter's index entries name fewer
than `FEW_ENOUGH_TO_SORT` documents (one count of at most that many entries), the patch
sends the query to the engine's general path, which reads those documents and sorts
them; with more, the walk tests each entry against them before reading its document.

A tenth is in such a walk of a compound index in sort order (the queue newest first, of
one status): the patch's narrowing by a single-field index's entries (above) was a list of
every document they name, built before the walk (the 20,000 requests in progress); in a
walk it is one seek per document walked, and with fewer than `FEW_ENOUGH_TO_SORT` named
documents the engine's general path sorts them instead of walking.

An eleventh is in sorting by a field not every document holds as one type (`due_at`, null
on closed requests): the engine orders by a general type expression no index matches, so
the queue by due time sorted every dated request. When the filter keeps only dates there
(`$type: "date"`), the patch orders by the index's value expression, which SQLite walks.

A twelfth is in equalities on strings (`status`, `kind`): the engine tests them with
JSON functions no index is built on, so a count of one status's open requests read every
request the status's entries named, listed first, even with a limit (a dashboard count:
600 ms at 90,000 open requests). When an index starts with such fields, none of which
holds an array, the patch adds predicates on that index's own expressions, so SQLite
seeks it and stops at the limit (`_compound_seek`); the engine's predicate stays.

A thirteenth is in counting a whole collection (`totalCount` of the queue or of the
security events): the engine counts its rows, 6 ms at 100,000 requests. The patch keeps
each collection's count in a table its triggers update within every write's transaction
(`keep_collection_sizes`) and reads it for a count without a filter.

It is written for one version: `apply` refuses any other, and a test fails when the pinned
version changes, so the patch is re-examined (and dropped if the engine fixed these).
"""

import importlib.metadata
import itertools
import math
import sqlite3
import threading
from collections.abc import Callable
from contextvars import ContextVar
from typing import Any

PATCHED_VERSION = "4.11.0"

_applied = False
# The compound unique indexes a write was already checked against (hidden from the engine's
# own check, which would decode the whole collection for each).
_checked_indexes: ContextVar[frozenset[str]] = ContextVar("checked", default=frozenset())

# The collection features kept across writes, by the prefix of their cache key: the engine
# method that answers one, how many arguments follow the field in the key, and how an
# answer of the collection and one of its written rows make the collection's new answer.
# Any other feature is dropped on a write, as the engine does.
type Merge = Callable[[Any, Any], Any]


def _any_has(collection: Any, written: Any) -> bool:
    """A presence ("some document holds..."): a "yes" only sends queries to the engine's
    general path, so it is kept; deletions cannot make a "no" wrong."""
    return bool(collection) or bool(written)


def _all_share(collection: Any, written: Any) -> Any:
    """A type every document holds ("number", "datetime"...; ``EVERY`` when there is no
    document yet); ``False``, the safe answer, as soon as one does not."""
    if collection == EVERY:
        return written or False
    return collection if written in (collection, EVERY) else False


EVERY = "*"
_KEPT_FEATURES: dict[str, tuple[str, int, Merge]] = {
    "traverses_array": ("_field_traverses_array_in_collection", 0, _any_has),
    "traverses_dbref": ("_field_traverses_dbref_in_collection", 0, _any_has),
    "top_level_array": ("_field_is_top_level_array_in_collection", 0, _any_has),
    "contains_real_numeric": ("_field_contains_real_numeric_in_collection", 0, _any_has),
    "contains_non_ascii_text": ("_field_contains_non_ascii_text_in_collection", 0, _any_has),
    "tagged_type": ("_field_contains_tagged_value_type_in_collection", 1, _any_has),
    "comparison_mismatch": ("_field_has_comparison_type_mismatch_in_collection", 1, _any_has),
    "scalar_or_array_comparison_mismatch": (
        "_field_has_scalar_or_array_element_type_mismatch_in_collection",
        1,
        _any_has,
    ),
    "unsortable_in_sql": ("_field_unsortable_in_sql_in_collection", 0, _any_has),
    "uniform_scalar_sort_type": (
        "_field_has_uniform_scalar_sort_type_in_collection",
        0,
        _all_share,
    ),
    "uniform_tagged_type": ("_field_uniform_tagged_type_in_collection", 0, _all_share),
}
# The answer no write changes any more.
_FINAL: dict[Merge, bool] = {_any_has: True, _all_share: False}
_WRITE_TRIGGERS = ("kabinet_noted_insert", "kabinet_noted_update")


class _Scratch(threading.local):
    """While a feature is asked again of written rows: the connection holding a copy of
    them, and a cache of its own (this thread only)."""

    connection: sqlite3.Connection | None = None
    features: dict[tuple[str, str, str], Any] | None = None


_scratch = _Scratch()


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
    from mongoeco.core.query_plan import AndCondition, EqualsCondition, InCondition, MatchAll
    from mongoeco.engines import sqlite as engine_module
    from mongoeco.engines._sqlite_fast_paths import build_select_statement_with_custom_order
    from mongoeco.engines.memory import MemoryEngine
    from mongoeco.engines.sqlite import SQLiteEngine
    from mongoeco.engines.sqlite_query import index_expressions_sql

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
        self: SQLiteEngine, db_name: str, coll_name: str, plan: Any, *, walking: bool = False
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
        if not walking and (seek := _compound_seek(self, db_name, coll_name, clauses)):
            seek_sql, seek_params = seek
            return f"({seek_sql} AND ({sql}))", [*seek_params, *params]
        narrowed = _narrowing(self, db_name, coll_name, plan, plan)
        if narrowed is None:
            return sql, params
        entries_sql, entries_params = narrowed
        if walking:  # one seek per document walked, not a list of every one named first
            named = f"SELECT 1 FROM ({entries_sql}) AS named WHERE named.storage_key = "  # noqa: S608
            return f"(EXISTS ({named}documents.storage_key) AND ({sql}))", [
                *entries_params,
                *params,
            ]
        return f"(documents.storage_key IN ({entries_sql}) AND ({sql}))", [
            *entries_params,
            *params,
        ]

    require_connection = SQLiteEngine._require_connection
    features_cache = SQLiteEngine._collection_features_cache
    invalidate_features = SQLiteEngine._invalidate_collection_features_cache

    def scratch_or_connection(self: SQLiteEngine, context: Any = None) -> sqlite3.Connection:
        return _scratch.connection or require_connection(self, context)

    def scratch_or_features(self: SQLiteEngine) -> dict[tuple[str, str, str], Any]:
        return _scratch.features if _scratch.features is not None else features_cache.fget(self)  # type: ignore[attr-defined]

    def keep_features(
        self: SQLiteEngine, db_name: str | None = None, coll_name: str | None = None
    ) -> None:
        if db_name is None or coll_name is None or _scratch.connection is not None:
            invalidate_features(self, db_name, coll_name)
            return
        written = _written_rows(self, db_name, coll_name)
        if written is None:
            invalidate_features(self, db_name, coll_name)
            return
        _recheck_features(self, db_name, coll_name, written)

    def unsortable_in_sql(self: SQLiteEngine, db_name: str, coll_name: str, field: str) -> bool:
        """Whether any document of the collection holds, at ``field``, a value the engine
        does not order in SQL (the engine's last sort check, asked of every document)."""
        key = (db_name, coll_name, f"unsortable_in_sql:{field}")
        cache = self._collection_features_cache
        if key not in cache:
            cache[key] = engine_module._sqlite_sort_requires_python(
                db_name=db_name,
                coll_name=coll_name,
                plan=MatchAll(),
                sort=[(field, 1)],
                plan_has_array_traversing_paths=lambda *_: False,
                translate_query_plan=engine_module.translate_query_plan,
                field_traverses_array_in_collection=lambda *_: False,
                field_contains_tagged_bytes_in_collection=lambda *_: False,
                field_contains_tagged_undefined_in_collection=lambda *_: False,
                fetchone=lambda sql, params: (
                    self._require_connection().execute(sql, params).fetchone()
                ),
                type_expression_sql=engine_module.type_expression_sql,
                json_path_for_field=engine_module.json_path_for_field,
            )
        return bool(cache[key])

    def sort_requires_python(
        self: SQLiteEngine, db_name: str, coll_name: str, plan: Any, sort: Any
    ) -> bool:
        unsortable_somewhere = bool(sort) and any(
            self._field_unsortable_in_sql_in_collection(db_name, coll_name, field)  # type: ignore[attr-defined]
            for field, _direction in sort
        )
        return engine_module._sqlite_sort_requires_python(
            db_name=db_name,
            coll_name=coll_name,
            plan=plan,
            sort=sort,
            plan_has_array_traversing_paths=self._plan_has_array_traversing_paths,
            translate_query_plan=engine_module.translate_query_plan,
            field_traverses_array_in_collection=self._field_traverses_array_in_collection,
            field_contains_tagged_bytes_in_collection=self._field_contains_tagged_bytes_in_collection,
            field_contains_tagged_undefined_in_collection=self._field_contains_tagged_undefined_in_collection,
            fetchone=lambda sql, params: (
                self._require_connection().execute(sql, params).fetchone()
                if unsortable_somewhere
                else None
            ),
            type_expression_sql=engine_module.type_expression_sql,
            json_path_for_field=engine_module.json_path_for_field,
        )

    build_select = SQLiteEngine._build_select_sql

    def build_select_in_index_order(
        self: SQLiteEngine, db_name: str, coll_name: str, plan: Any, **options: Any
    ) -> tuple[str, list[object]]:
        sort = options.get("sort")
        if (
            not sort
            or options.get("hint") is not None
            or not all(
                _dates_only(plan, field)
                or self._field_uniform_tagged_type_in_collection(db_name, coll_name, field)  # type: ignore[attr-defined]
                for field, _direction in sort
            )
        ):
            return build_select(self, db_name, coll_name, plan, **options)
        narrowed = _narrowing(self, db_name, coll_name, plan, plan)
        if narrowed is not None and _fewer_than(self, narrowed, FEW_ENOUGH_TO_SORT):
            return build_select(self, db_name, coll_name, plan, **options)  # sort the few named
        order = ", ".join(
            f"{expression} {'ASC' if direction == 1 else 'DESC'}"
            for field, direction in sort
            for expression in index_expressions_sql(field)[
                # A type the filter fixes by equality is left out of the order: SQLite
                # does not see that an equality-bound expression keeps the index's order.
                1 if _dates_only(plan, field) else 0 :
            ]
        )
        return build_select_statement_with_custom_order(
            select_clause=options["select_clause"],
            from_clause="documents",
            namespace_sql="db_name = ? AND coll_name = ?",
            namespace_params=(db_name, coll_name),
            where_fragment=translate_by_key(self, db_name, coll_name, plan, walking=True),
            order_sql=f" ORDER BY {order}",
            skip=options.get("skip", 0),
            limit=options.get("limit"),
        )

    for changes_indexes in (
        "_create_index_sync",
        "_drop_index_sync",
        "_drop_indexes_sync",
        "_drop_collection_sync",
        "_drop_database_sync",
    ):
        original = getattr(SQLiteEngine, changes_indexes)
        setattr(SQLiteEngine, changes_indexes, _then_share_entry_indexes(original))

    def multikey_exists_by_type(
        self: SQLiteEngine,
        collection_id: int,
        db_name: str,
        coll_name: str,
        index: Any,
        signatures: tuple[tuple[str, str], ...],
    ) -> tuple[str, list[object]]:
        physical_name = self._quote_identifier(str(index["multikey_physical_name"]))
        clauses: list[str] = []
        params: list[object] = []
        for element_type, element_key in signatures:
            clauses.append(
                "EXISTS ("  # noqa: S608 - the index name is the engine's; values bound
                f"SELECT 1 FROM multikey_entries INDEXED BY {physical_name} "
                "WHERE collection_id = ? AND index_name = ? AND type_score = ? "
                "AND element_key = ? AND storage_key = documents.storage_key "
                "AND element_type = ?)"
            )
            params.extend(
                [
                    collection_id,
                    index["name"],
                    self._multikey_type_score(element_type),
                    element_key,
                    element_type,
                ]
            )
        return "(" + " OR ".join(clauses) + ")", params

    SQLiteEngine._translate_multikey_exists_clause = multikey_exists_by_type  # type: ignore[method-assign]
    scalar_sort = SQLiteEngine._build_scalar_sort_select_sql

    def walk_sort_index_unless_few(
        self: SQLiteEngine, db_name: str, coll_name: str, plan: Any, **options: Any
    ) -> tuple[str, list[object]] | None:
        narrowed = _narrowing(self, db_name, coll_name, plan, plan)
        if narrowed is not None and _fewer_than(self, narrowed, FEW_ENOUGH_TO_SORT):
            return None  # the engine's general path: sort the rows the entries name
        walk = scalar_sort(self, db_name, coll_name, plan, **options)
        if walk is None or narrowed is None:
            return walk
        return _skip_unnamed_entries(walk, narrowed)

    count_matching = SQLiteEngine._count_matching_documents_sync

    def count_from_sizes(
        self: SQLiteEngine, db_name: str, coll_name: str, semantics: Any, context: Any
    ) -> int:
        if (
            not isinstance(semantics.query_plan, MatchAll)
            or semantics.skip
            or semantics.limit
            or semantics.hint is not None
            or any(
                index.get("expire_after_seconds") is not None
                for index in self._load_indexes(db_name, coll_name)
            )
        ):
            return count_matching(self, db_name, coll_name, semantics, context)
        with self._lock:
            connection = self._require_connection(context)
            kept = connection.execute(
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (SIZES,)
            ).fetchone()
            found = (
                kept
                and connection.execute(
                    f"SELECT documents FROM {SIZES} WHERE db_name = ? AND coll_name = ?",  # noqa: S608
                    (db_name, coll_name),
                ).fetchone()
            )
        if not kept:  # a file opened without `keep_collection_sizes` (not by `Database`)
            return count_matching(self, db_name, coll_name, semantics, context)
        return int(found[0]) if found else 0

    SQLiteEngine._count_matching_documents_sync = count_from_sizes  # type: ignore[method-assign]
    SQLiteEngine._build_scalar_sort_select_sql = walk_sort_index_unless_few  # type: ignore[method-assign]
    SQLiteEngine._build_select_sql = build_select_in_index_order  # type: ignore[method-assign]
    SQLiteEngine._field_uniform_tagged_type_in_collection = _uniform_tagged_type  # type: ignore[attr-defined]
    SQLiteEngine._require_connection = scratch_or_connection  # type: ignore[method-assign]
    SQLiteEngine._collection_features_cache = property(scratch_or_features)  # type: ignore[method-assign,assignment]
    SQLiteEngine._invalidate_collection_features_cache = keep_features  # type: ignore[method-assign]
    SQLiteEngine._field_unsortable_in_sql_in_collection = unsortable_in_sql  # type: ignore[attr-defined]
    SQLiteEngine._sort_requires_python = sort_requires_python  # type: ignore[method-assign]
    SQLiteEngine._backfill_scalar_indexes_sync = _backfill_once(  # type: ignore[method-assign]
        SQLiteEngine._backfill_scalar_indexes_sync
    )
    SQLiteEngine._validate_document_against_unique_indexes = validate_by_key  # type: ignore[method-assign]
    SQLiteEngine._load_indexes = load_unchecked_indexes  # type: ignore[method-assign]
    MemoryEngine._ensure_unique_indexes = ensure_without_payload_scan  # type: ignore[method-assign]
    SQLiteEngine._translate_query_plan_with_multikey = translate_by_key  # type: ignore[method-assign]
    _applied = True


# Up to this many documents named by a query's index entries are sorted as they are;
# with more, the engine walks the sort field's index, which a page's limit stops early.
# Measured on the cards: testing and sorting a named card costs about what walking 90
# index entries does (35 us against 0.4 us each), so below 300 of 22,000-40,000 cards
# sorting wins.
FEW_ENOUGH_TO_SORT = 300


def _fewer_than(engine: Any, narrowed: tuple[str, list[object]], limit: int) -> bool:
    sql, params = narrowed
    (count,) = (
        engine._require_connection()
        .execute(f"SELECT count(*) FROM ({sql} LIMIT ?)", [*params, limit])  # noqa: S608 - the patch's own subquery
        .fetchone()
    )
    return bool(count < limit)


def _compound_seek(
    engine: Any, db_name: str, coll_name: str, clauses: tuple[Any, ...]
) -> tuple[str, list[object]] | None:
    """The string equalities and `$in`s of ``clauses`` as predicates on the expressions an
    index of the collection is built on (``None`` when no index starts with their fields),
    so SQLite seeks that index and reads only its matching documents, stopping at a limit.
    The engine's own translation tests a field with JSON functions no index is built on,
    so a count of one status read every document the status's entries named, listed first.

    A string equal to a field's value is its index value with no type tag (a tagged value,
    an ObjectId or a date, is an object), unless the field holds an array (then equality
    means "an element"), so each field must hold none in the collection (the engine's own
    question, kept across writes); top-level fields only. The predicates only narrow: the
    engine's predicate is kept."""
    from mongoeco.core.query_plan import EqualsCondition, InCondition
    from mongoeco.engines.sqlite_query import index_expressions_sql

    wanted: dict[str, list[object]] = {}
    for clause in clauses:
        if not isinstance(clause, EqualsCondition | InCondition) or clause.null_matches_undefined:
            continue
        values = [clause.value] if isinstance(clause, EqualsCondition) else list(clause.values)
        if values and all(isinstance(value, str) for value in values) and "." not in clause.field:
            wanted[clause.field] = values
    best: list[str] = []
    for index in engine._load_indexes(db_name, coll_name) if wanted else ():
        if index.get("partial_filter_expression") or index.get("sparse") or index.get("hidden"):
            continue
        if index.get("collation") is not None:
            continue
        prefix = list(itertools.takewhile(wanted.__contains__, index["fields"]))
        combinations = math.prod(len(wanted[field]) for field in prefix)
        if len(prefix) > len(best) or (
            prefix
            and len(prefix) == len(best)
            and combinations < math.prod(len(wanted[field]) for field in best)
        ):
            best = prefix
    if not best or any(
        engine._field_is_top_level_array_in_collection(db_name, coll_name, field) for field in best
    ):
        return None
    predicates: list[str] = []
    params: list[object] = []
    for field in best:
        tag, value = index_expressions_sql(field)
        predicates.append(f"{tag} = '' AND {value} IN ({', '.join('?' * len(wanted[field]))})")
        params.extend(wanted[field])
    return " AND ".join(predicates), params


def _skip_unnamed_entries(
    walk: tuple[str, list[object]], narrowed: tuple[str, list[object]]
) -> tuple[str, list[object]]:
    """The engine's walk of a sort index, testing each entry against the documents the
    filter's index entries name before reading its document (it read every document)."""
    sql, params = walk
    namespace = "scalar_index_entries.index_name = ?"
    if sql.count(namespace) != 1:
        return walk
    head, tail = sql.split(namespace)
    before = head.count("?") + 1
    entries_sql, entries_params = narrowed
    return (
        f"{head}{namespace} AND scalar_index_entries.storage_key IN ({entries_sql}){tail}",
        [*params[:before], *entries_params, *params[before:]],
    )


def _narrowing(
    engine: Any, db_name: str, coll_name: str, node: Any, plan: Any
) -> tuple[str, list[object]] | None:
    """A subquery of storage keys holding every document ``node`` (part of ``plan``) can
    match, from single-field indexes; ``None`` when none can say. An `$and` is narrowed by
    one of its clauses, an `$or` by the union of its branches when each can be."""
    from mongoeco.core.query_plan import AndCondition, OrCondition

    if isinstance(node, AndCondition):
        return next(
            (
                narrowed
                for clause in node.clauses
                if (narrowed := _narrowing(engine, db_name, coll_name, clause, plan))
            ),
            None,
        )
    if isinstance(node, OrCondition):
        selects: list[str] = []
        params: list[object] = []
        for branch in node.clauses:
            narrowed = _narrowing(engine, db_name, coll_name, branch, plan)
            if narrowed is None:
                return None
            selects.append(f"SELECT storage_key FROM ({narrowed[0]})")  # noqa: S608
            params.extend(narrowed[1])
        return (" UNION ".join(selects), params) if selects else None
    return _index_entries_sql(engine, db_name, coll_name, node, plan)


def _index_entries_sql(
    engine: Any, db_name: str, coll_name: str, clause: Any, plan: Any
) -> tuple[str, list[object]] | None:
    """The storage keys a single-field index holds for any value of an equality or `$in`
    ``clause`` of ``plan``, or for every string of an `$all` (a document holding all its
    values holds those: the longest value's entries, each kept if the others' entries
    name it too, one seek each), as a subquery; ``None`` when no index can say it exactly."""
    from mongoeco.core.query_plan import AllCondition, EqualsCondition, InCondition
    from mongoeco.engines.virtual_indexes import query_can_use_index

    if isinstance(clause, AllCondition):
        strings = [value for value in clause.values if isinstance(value, str)]
        values: list[object] = sorted(strings, key=len, reverse=True)
    elif isinstance(clause, EqualsCondition | InCondition):
        if clause.null_matches_undefined:
            return None
        values = [clause.value] if isinstance(clause, EqualsCondition) else list(clause.values)
    else:
        return None
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

    def entries(value: object, of_candidate: bool) -> tuple[list[str], list[object]]:
        """A select per table of the entries for ``value`` (of the candidate only)."""
        element_type, element_key = engine._multikey_value_signature(value)
        type_score = engine._multikey_type_score(element_type)
        candidate = " AND storage_key = candidates.storage_key" if of_candidate else ""
        selects = [
            f"SELECT storage_key FROM {table} "  # noqa: S608 - names from the engine; values bound
            f"INDEXED BY {engine._quote_identifier(str(physical))} "
            "WHERE collection_id = ? AND index_name = ? AND type_score = ? "
            f"AND element_key = ?{candidate} AND element_type = ?"
            for table, physical in tables
        ]
        return selects, [collection_id, index["name"], type_score, element_key, element_type] * len(
            tables
        )

    if not isinstance(clause, AllCondition):
        selects, params = [], []
        for value in values:
            more, more_params = entries(value, of_candidate=False)
            selects += more
            params += more_params
        return " UNION ALL ".join(selects), params
    selects, params = entries(values[0], of_candidate=False)
    tests = []
    for value in values[1:]:
        others, other_params = entries(value, of_candidate=True)
        tests.append("(" + " OR ".join(f"EXISTS ({other})" for other in others) + ")")
        params += other_params
    where = f" WHERE {' AND '.join(tests)}" if tests else ""
    return f"SELECT storage_key FROM ({' UNION ALL '.join(selects)}) AS candidates{where}", params  # noqa: S608


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


def _uniform_tagged_type(engine: Any, db_name: str, coll_name: str, field: str) -> str | bool:
    """The tagged type (``datetime``, ``objectid``...) every document of the collection
    holds at ``field``; ``EVERY`` when it has no document, ``False`` when they differ.

    When one type is every document's, the engine's ordering by type bucket is the same for
    all of them, so ordering by the index's own type expression instead gives the same
    order, and lets SQLite walk an index over ``field`` rather than sort the collection."""
    from mongoeco.engines.sqlite import json_path_for_field, type_expression_sql

    key = (db_name, coll_name, f"uniform_tagged_type:{field}")
    cache = engine._collection_features_cache
    if key not in cache:
        path = "'" + json_path_for_field(field).replace("'", "''") + "'"
        documents, tagged, types, first = (
            engine._require_connection()
            .execute(
                f"SELECT count(*), count(CASE WHEN json_type(document, {path}) = 'object' "  # noqa: S608 - the engine's own expressions
                f"THEN nullif({type_expression_sql(field)}, '') END), "
                f"count(DISTINCT {type_expression_sql(field)}), min({type_expression_sql(field)}) "
                "FROM documents WHERE db_name = ? AND coll_name = ?",
                (db_name, coll_name),
            )
            .fetchone()
        )
        if not documents:
            cache[key] = EVERY
        else:
            cache[key] = first if tagged == documents and types == 1 else False
    return cache[key]


def _dates_only(plan: Any, field: str) -> bool:
    """Whether ``plan`` keeps only documents holding a date at ``field`` by a ``$type:
    "date"``, alone or as a clause of an ``$and`` (a comparison with a date is not enough:
    the engine's matches null too). Ordering them by type bucket is then one bucket,
    whatever other documents hold there (`due_at` is null on closed requests), so the
    index over the field gives their order."""
    from mongoeco.core import query_plan

    if isinstance(plan, query_plan.AndCondition):
        return any(_dates_only(clause, field) for clause in plan.clauses)
    return (
        isinstance(plan, query_plan.TypeCondition)
        and plan.field == field
        and set(plan.values) <= {"date", 9}
    )


def _written_rows(engine: Any, db_name: str, coll_name: str) -> set[str] | None:
    """The storage keys of the collection written since its features were last kept, as
    the write triggers noted them; ``None`` when the connection has no triggers yet (they
    are created then, so the next write is noted)."""
    connection = engine._require_connection()
    installed = connection.execute(
        "SELECT count(*) FROM sqlite_temp_master WHERE type = 'trigger' AND name IN (?, ?)",
        _WRITE_TRIGGERS,
    ).fetchone()[0]
    if installed != len(_WRITE_TRIGGERS):
        note_writes(engine, connection)
        return None
    with engine._kabinet_noted_lock:
        return engine._kabinet_noted.pop((db_name, coll_name), set())


# The engine's entry tables, the column of its index records naming each index's own
# SQLite index on that table, and the one SQLite index the patch gives them all instead.
ENTRY_TABLES = {
    "multikey_entries": ("multikey_physical_name", "kabinet_multikey_entries_lookup"),
    "scalar_index_entries": ("scalar_physical_name", "kabinet_scalar_index_entries_lookup"),
}


def _backfill_once(backfill: Callable[[Any, sqlite3.Connection], None]) -> Callable[..., None]:
    """The engine's start-up rebuild of every single-field index entry, once per file.

    mongoeco rebuilds them all on every start (for files of releases that kept no such
    entries): 5 s at 1,000 members, most of a 10,000-member start, and of every CLI
    command on the file. Every write of this version keeps them in the transaction that
    writes the document, and `apply` lets no other version run, so after one rebuild by
    it a file's entries are current; the file records that it had it."""

    def run(engine: Any, connection: sqlite3.Connection) -> None:
        connection.execute(
            "CREATE TABLE IF NOT EXISTS kabinet_entries_rebuilt (engine TEXT PRIMARY KEY)"
        )
        if connection.execute(
            "SELECT 1 FROM kabinet_entries_rebuilt WHERE engine = ?", (PATCHED_VERSION,)
        ).fetchone():
            return
        backfill(engine, connection)
        connection.execute("INSERT INTO kabinet_entries_rebuilt VALUES (?)", (PATCHED_VERSION,))
        if connection.in_transaction:
            connection.commit()

    return run


def share_entry_indexes(engine: Any, connection: sqlite3.Connection) -> None:
    """Point every index record of the engine at one SQLite index per entry table, and
    drop the per-index copies. Run with no statement open on ``connection``: at start-up
    and after the engine creates or drops an index or a collection (which may have dropped
    the shared one by its recorded name). The engine's cached index records are dropped
    only when some record was pointed anew (the start-up `createIndexes` of indexes that
    exist change none)."""
    repointed = False
    for table, (column, shared) in ENTRY_TABLES.items():
        connection.execute(
            f"CREATE INDEX IF NOT EXISTS {shared} "
            f"ON {table} (collection_id, index_name, type_score, element_key, storage_key)"
        )
        own = connection.execute(
            f"SELECT DISTINCT {column} FROM indexes "  # noqa: S608 - names from ENTRY_TABLES
            f"WHERE {column} IS NOT NULL AND {column} != ?",
            (shared,),
        ).fetchall()
        if not own:
            continue
        for (name,) in own:
            connection.execute(f'DROP INDEX IF EXISTS "{name}"')
        connection.execute(
            f"UPDATE indexes SET {column} = ? "  # noqa: S608 - names from ENTRY_TABLES
            f"WHERE {column} IS NOT NULL AND {column} != ?",
            (shared, shared),
        )
        repointed = True
    if connection.in_transaction:
        connection.commit()
    if repointed:
        engine._invalidate_index_cache()


def _then_share_entry_indexes(method: Callable[..., Any]) -> Callable[..., Any]:
    def run(self: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return method(self, *args, **kwargs)
        finally:
            share_entry_indexes(self, self._require_connection())

    return run


def index_entries_by_document(connection: sqlite3.Connection) -> None:
    """Give the engine's index entries an SQLite index by document and index name. Every
    write to a document deletes its entries by storage key and index name; without this
    SQLite may serve that delete from the (collection, index name) index instead, which
    reads every entry of the index: each card's phones and search keys on each write, and
    every entry so far for each document while an index is built (quadratic)."""
    # This patch's earlier index of multikey entries, by storage key alone: replaced.
    connection.execute("DROP INDEX IF EXISTS kabinet_multikey_entries_storage")
    for table in ENTRY_TABLES:
        connection.execute(
            f"CREATE INDEX IF NOT EXISTS kabinet_{table}_by_document "
            f"ON {table} (collection_id, storage_key, index_name)"
        )


# Documents per collection, kept by triggers in each write's own transaction.
SIZES = "kabinet_collection_sizes"


def keep_collection_sizes(connection: sqlite3.Connection) -> None:
    """Count each collection's documents once per file and have SQLite keep the counts:
    triggers on the documents table, which fire inside the transaction of every insert,
    delete and move between collections (by any connection), so a count stays exact
    through crashes. The count of a whole collection (a `totalCount` without a filter)
    then reads one row, where the engine counted its 100,000 rows (6 ms)."""
    if connection.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (SIZES,)
    ).fetchone():
        return
    changes = {
        "inserted": ("AFTER INSERT", [("new", 1)]),
        "deleted": ("AFTER DELETE", [("old", -1)]),
        "moved": ("AFTER UPDATE OF db_name, coll_name", [("old", -1), ("new", 1)]),
    }
    with connection:  # one transaction: counted and kept from the same state
        connection.execute(
            f"CREATE TABLE {SIZES} (db_name TEXT NOT NULL, coll_name TEXT NOT NULL, "
            "documents INTEGER NOT NULL, PRIMARY KEY (db_name, coll_name))"
        )
        connection.execute(
            f"INSERT INTO {SIZES} SELECT db_name, coll_name, count(*) FROM documents "  # noqa: S608
            "GROUP BY db_name, coll_name"
        )
        for name, (event, steps) in changes.items():
            body = " ".join(
                f"INSERT INTO {SIZES} VALUES ({row}.db_name, {row}.coll_name, {step}) "  # noqa: S608
                f"ON CONFLICT (db_name, coll_name) DO UPDATE SET documents = documents + {step};"
                for row, step in steps
            )
            connection.execute(
                f"CREATE TRIGGER kabinet_size_{name} {event} ON documents BEGIN {body} END"
            )


def note_writes(engine: Any, connection: sqlite3.Connection) -> None:
    """Have ``connection`` note the storage key of every document row it inserts or updates."""
    if not hasattr(engine, "_kabinet_noted"):
        engine._kabinet_noted = {}
        engine._kabinet_noted_lock = threading.Lock()
    noted: dict[tuple[str, str], set[str]] = engine._kabinet_noted
    lock: threading.Lock = engine._kabinet_noted_lock

    def note(db_name: str, coll_name: str, storage_key: str) -> None:
        with lock:
            noted.setdefault((db_name, coll_name), set()).add(storage_key)

    connection.create_function("kabinet_noted", 3, note)
    for name, event in zip(_WRITE_TRIGGERS, ("INSERT", "UPDATE"), strict=True):
        connection.execute(
            f"CREATE TEMP TRIGGER IF NOT EXISTS {name} AFTER {event} ON main.documents "
            "BEGIN SELECT kabinet_noted(new.db_name, new.coll_name, new.storage_key); END"
        )


def _recheck_features(engine: Any, db_name: str, coll_name: str, written: set[str]) -> None:
    """Keep the collection's cached features across a write: each kept feature a write can
    change is asked again of the ``written`` rows alone and merged with the collection's
    answer; the other features are dropped (asked again when next needed)."""
    cache = engine._collection_features_cache
    changeable = []
    for key in [key for key in cache if key[:2] == (db_name, coll_name)]:
        kind, _, argument = key[2].partition(":")
        if kind not in _KEPT_FEATURES:
            cache.pop(key)
        elif cache[key] is not _FINAL[_KEPT_FEATURES[kind][2]]:
            changeable.append((key, kind, argument))
    if not changeable or not written:
        return
    scratch = _scratch_copy(engine, db_name, coll_name, written)
    _scratch.connection, _scratch.features = scratch, {}
    try:
        for key, kind, argument in changeable:
            method, extra, merge = _KEPT_FEATURES[kind]
            arguments = argument.rsplit(":", extra) if extra else [argument]
            cache[key] = merge(cache[key], getattr(engine, method)(db_name, coll_name, *arguments))
    finally:
        _scratch.connection, _scratch.features = None, None
        scratch.close()


def _scratch_copy(
    engine: Any, db_name: str, coll_name: str, written: set[str]
) -> sqlite3.Connection:
    """An in-memory database whose ``documents`` table holds the ``written`` rows only."""
    scratch = sqlite3.connect(":memory:")
    scratch.execute(
        "CREATE TABLE documents (db_name TEXT, coll_name TEXT, storage_key TEXT, document TEXT)"
    )
    keys = sorted(written)
    connection = engine._require_connection()
    for start in range(0, len(keys), 500):
        batch = keys[start : start + 500]
        marks = ", ".join("?" * len(batch))
        rows = connection.execute(
            "SELECT db_name, coll_name, storage_key, document FROM documents "  # noqa: S608 - marks only
            f"WHERE db_name = ? AND coll_name = ? AND storage_key IN ({marks})",
            (db_name, coll_name, *batch),
        )
        scratch.executemany("INSERT INTO documents VALUES (?, ?, ?, ?)", rows)
    return scratch
