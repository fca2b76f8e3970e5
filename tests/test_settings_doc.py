"""docs/deployment.md lists every KABINET_* setting as kabinet/config.py declares it."""

from pathlib import Path

from kabinet.config import Settings
from kabinet.settings_doc import BEGIN, END, settings_table, with_table
from tests.test_cli import run_cli

DOC = Path("docs") / "deployment.md"


def test_the_deployment_doc_has_the_current_settings_table(project_root: Path):
    document = (project_root / DOC).read_text(encoding="utf-8")
    assert document == with_table(document), (
        "docs/deployment.md's settings table is out of date: run `make docs` and commit it"
    )


def test_the_table_has_a_row_per_setting_with_its_default():
    rows = settings_table().splitlines()[2:]
    assert [row.split(" | ")[0] for row in rows] == [
        f"| `KABINET_{name.upper()}`" for name in Settings.model_fields
    ]
    assert "| `KABINET_PORT` | integer | `8000` | Port `kabinet serve` listens on. |" in rows
    assert any(row.startswith("| `KABINET_MONGODB_URI` | text | unset |") for row in rows)
    assert any(
        row.startswith("| `KABINET_SMTP_TLS` | `none` or `starttls` or `tls` |") for row in rows
    )


async def test_the_command_prints_the_code_defaults_not_the_environment():
    code, output = await run_cli("settings-doc", port="9999", env="production")
    assert code == 0, output
    assert output == settings_table()


async def test_the_command_rewrites_a_drifted_table(tmp_path: Path, project_root: Path):
    current = (project_root / DOC).read_text(encoding="utf-8")
    drifted = current.replace(
        "`KABINET_PORT` | integer | `8000`", "`KABINET_PORT` | integer | `80`"
    )
    assert drifted != current
    (tmp_path / "deployment.md").write_text(drifted, encoding="utf-8")

    code, output = await run_cli("settings-doc", "--update", str(tmp_path / "deployment.md"))
    assert code == 0, output
    assert (tmp_path / "deployment.md").read_text(encoding="utf-8") == current

    (tmp_path / "plain.md").write_text("# no table here\n", encoding="utf-8")
    code, output = await run_cli("settings-doc", "--update", str(tmp_path / "plain.md"))
    assert code != 0
    assert BEGIN in output
    assert END in output
