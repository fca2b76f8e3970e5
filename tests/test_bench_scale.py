"""The benchmark's scale section (`python -m bench --only scale`) at tiny sizes: every
operation is measured at both sizes and recorded; a seeded database is reused until what
it was built from changes, and only its indexes are built when only they change. A try-out of the section's code, not a measurement: nothing
here is a time."""

from pathlib import Path

from bench import scale_seed
from bench.__main__ import merged
from bench.report import SCALE, SUBSCRIPTIONS, scale_table
from bench.scale import ScaleSizes, scale
from kabinet.db import EMBEDDED_FILE

TINY = ScaleSizes(small=2, large=3, unlinked=4, import_rows=6, repeats=1)
# issue 14, item 1: what the section measures
OPERATIONS = [
    "me",
    "createRequest",
    "changeRequestStatus",
    "cancelRequest",
    "addComment",
    "requestQueue first page",
    "requestQueue with totalCount",
    "requestQueue by status",
    "requestQueue by due time",
    "requestQueue overdue",
    "queueCounts",
    "findPolicies by phone",
    "findPolicies by name",
    "findPolicies by number prefix",
    "verifyContact (links 2 cards)",
    "login",
    "first me after sign-in",
    "securityEvents",
    "import-policies 6 rows",
]


async def test_the_scale_section_measures_every_operation_at_both_sizes(tmp_path: Path):
    result = await scale(TINY, tmp_path)

    figures = result.as_json()
    assert list(figures) == OPERATIONS
    for name, figure in figures.items():
        assert figure["small_cpu_ms"] > 0, name
        assert figure["large_cpu_ms"] > 0, name
        assert figure["ratio"] > 0, name
    assert figures["import-policies 6 rows"]["small_wall_s"] > 0
    assert figures["import-policies 6 rows"]["large_wall_s"] > 0
    table = scale_table(result)
    assert all(name in table for name in OPERATIONS)

    # The databases stay for the next run, and are built again once stale.
    database = tmp_path / "scale-2" / EMBEDDED_FILE
    built = database.stat()
    assert await scale_seed.seeded(tmp_path, 2, TINY.unlinked) == database.parent
    assert database.stat().st_mtime_ns == built.st_mtime_ns
    key = database.parent / scale_seed.KEY_FILE
    current = key.read_text()
    data_key = current.split()[0]
    key.write_text(f"{data_key} declared-before-an-index-changed")
    await scale_seed.seeded(tmp_path, 2, TINY.unlinked)
    assert database.stat().st_ino == built.st_ino  # indexes built in place
    assert key.read_text() == current
    key.write_text("made by other documents")
    await scale_seed.seeded(tmp_path, 2, TINY.unlinked)
    assert database.stat().st_ino != built.st_ino
    assert key.read_text() != "made by other documents"


def test_a_part_run_alone_replaces_only_its_own_figures():
    previous = {
        "seconds": 300,
        "table": [
            {"figure": "read me /graphql: req/s", "part": None},
            {"figure": "event to 1 subscribers (5/5): p50 ms", "part": SUBSCRIPTIONS},
        ],
        "read": {"kabinet": {"count": 4000}},
        "scale": {"me": {"small_cpu_ms": 20.0, "large_cpu_ms": 40.0, "ratio": 2.0}},
    }
    new_scale = {"me": {"small_cpu_ms": 20.0, "large_cpu_ms": 22.0, "ratio": 1.1}}

    results = merged(previous, SCALE, [], {"scale": new_scale})

    assert results == {**previous, "scale": new_scale}
