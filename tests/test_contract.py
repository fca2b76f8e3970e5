"""The schema keeps the published contract, and the API guide's changelog says how it grew."""

from datetime import date
from pathlib import Path

import pytest

from kabinet.schema import build_schema
from kabinet.schema.contract import (
    BEGIN,
    END,
    NO_CHANGES,
    compare,
    unreleased,
    with_release,
    with_unreleased,
)
from tests.test_cli import run_cli

CONTRACT = """
type Query {
  card(number: String!, withHistory: Boolean = false): Card
  cards: [Card!]!
}

"A card."
type Card {
  number: String!
  holder: String @deprecated(reason: "Use `insured`.")
  insured: String
  status: Status!
}

enum Status {
  ACTIVE
  SUSPENDED
  LAPSED @deprecated(reason: "Cards are EXPIRED now.")
  EXPIRED
}
"""


def changed(old: str, new: str) -> str:
    assert old in CONTRACT
    return CONTRACT.replace(old, new)


def test_the_schema_keeps_the_published_contract(project_root: Path):
    published = (project_root / "docs/schema/published.graphql").read_text(encoding="utf-8")
    changes = compare(published, build_schema().as_str())
    assert changes.breaking == (), (
        "the schema breaks docs/schema/published.graphql; deprecate first, publish, then remove"
    )


def test_the_guide_lists_the_changes_since_the_published_contract(project_root: Path):
    published = (project_root / "docs/schema/published.graphql").read_text(encoding="utf-8")
    guide = (project_root / "docs/api-guide.md").read_text(encoding="utf-8")
    changes = compare(published, build_schema().as_str())
    assert with_unreleased(guide, changes) == guide, "run `make schema` and commit the guide"


def test_an_unchanged_schema_has_nothing_to_report():
    changes = compare(CONTRACT, CONTRACT)
    assert [texts for _, texts in changes.sections()] == [()] * 5
    assert unreleased(changes) == f"{NO_CHANGES}\n"


@pytest.mark.parametrize(
    ("old", "new", "breaking"),
    [
        ("  cards: [Card!]!\n", "", "Field Query.cards was removed."),
        ("  SUSPENDED\n", "", "Enum value Status.SUSPENDED was removed."),
        (
            "  insured: String\n",
            "  insured: Int\n",
            "Field Card.insured changed type from String to Int.",
        ),
        (
            "withHistory: Boolean = false",
            "withHistory: Boolean!",
            "Argument Query.card(withHistory:) has changed type from Boolean to Boolean!.",
        ),
    ],
)
def test_a_change_that_breaks_clients_is_breaking(old: str, new: str, breaking: str):
    changes = compare(CONTRACT, changed(old, new))
    assert changes.breaking == (breaking,)
    assert changes.removed == ()


def test_what_the_contract_deprecated_may_go():
    without = changed('  holder: String @deprecated(reason: "Use `insured`.")\n', "")
    without = without.replace('  LAPSED @deprecated(reason: "Cards are EXPIRED now.")\n', "")

    changes = compare(CONTRACT, without)

    assert changes.breaking == ()
    assert changes.removed == (
        "Field Card.holder was removed.",
        "Enum value Status.LAPSED was removed.",
    )


def test_additions_deprecations_and_dangerous_changes_are_listed():
    grown = changed("  status: Status!\n", "  status: Status!\n  programme: String\n")
    grown = grown.replace(
        "  number: String!\n", '  number: String! @deprecated(reason: "Use id.")\n'
    )
    grown = grown.replace("  EXPIRED\n", "  EXPIRED\n  CANCELLED\n")

    changes = compare(CONTRACT, grown)

    assert changes.breaking == ()
    assert changes.added == ("Field Card.programme was added.",)
    assert changes.deprecated == ("Card.number is deprecated: Use id.",)
    assert changes.dangerous == ("Enum value Status.CANCELLED was added.",)
    assert unreleased(changes) == (
        "#### Deprecated\n\n- Card.number is deprecated: Use id.\n\n"
        "#### Dangerous (e.g. a new enum value an exhaustive `switch` must handle)\n\n"
        "- Enum value Status.CANCELLED was added.\n\n"
        "#### Added\n\n- Field Card.programme was added.\n"
    )


GUIDE = f"# Guide\n\n## Changelog\n\n{BEGIN}\n### Unreleased\n\n{NO_CHANGES}\n{END}\n"


def test_publishing_turns_the_unreleased_changes_into_a_dated_entry():
    grown = compare(CONTRACT, changed("  cards: [Card!]!\n", "  cards: [Card!]!\n  me: Card\n"))
    first = with_release(GUIDE, grown, date(2026, 11, 29))
    again = compare(CONTRACT, changed("  SUSPENDED\n", "  SUSPENDED\n  PAUSED\n"))
    second = with_release(with_unreleased(first, again), again, date(2026, 12, 1))

    assert second == (
        f"# Guide\n\n## Changelog\n\n{BEGIN}\n### Unreleased\n\n{NO_CHANGES}\n\n"
        "### Published 2026-12-01\n\n#### Dangerous (e.g. a new enum value an exhaustive "
        "`switch` must handle)\n\n- Enum value Status.PAUSED was added.\n\n"
        "### Published 2026-11-29\n\n#### Added\n\n- Field Query.me was added.\n"
        f"{END}\n"
    )


def test_a_guide_without_a_changelog_block_is_refused():
    with pytest.raises(ValueError, match="changelog:begin"):
        with_unreleased("# Guide\n", compare(CONTRACT, CONTRACT))


async def test_publish_schema_records_the_contract_and_the_entry(tmp_path: Path):
    guide, published = tmp_path / "guide.md", tmp_path / "published.graphql"
    guide.write_text(GUIDE, encoding="utf-8")
    published.write_text(CONTRACT, encoding="utf-8")

    code, output = await run_cli("schema-changes", "--published", str(published))
    assert code == 1  # every field of the real schema's Query is new, Card's are gone
    assert "the schema breaks the published contract" in output
    assert "Field Query.cards was removed." in output

    # Published over nothing broken (the real schema as its own contract): no entry to add.
    published.write_text(build_schema().as_str() + "\n", encoding="utf-8")
    code, output = await run_cli(
        "publish-schema", "--published", str(published), "--guide", str(guide)
    )
    assert code == 0, output
    assert published.read_text(encoding="utf-8") == build_schema().as_str() + "\n"
    assert "### Published " in guide.read_text(encoding="utf-8")
