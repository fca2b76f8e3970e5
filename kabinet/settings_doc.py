"""Every ``KABINET_*`` setting as a Markdown table for docs/deployment.md, from `Settings`.

The table documents the defaults in the code, never the values of the machine it
runs on, so it is the same wherever `make docs` (``kabinet settings-doc --update``) runs.
"""

import types
from enum import Enum
from pathlib import Path
from typing import Any, Union, get_args, get_origin

from pydantic.fields import FieldInfo

from kabinet.config import Settings

BEGIN = "<!-- settings:begin (generated from kabinet/config.py by `make docs`) -->"
END = "<!-- settings:end -->"


def settings_table() -> str:
    prefix = Settings.model_config.get("env_prefix", "")
    rows = ["| variable | value | default | description |", "| --- | --- | --- | --- |"]
    for name, field in Settings.model_fields.items():
        if not field.description:
            raise ValueError(f"Settings.{name} has no description")
        cells = (
            f"`{prefix}{name.upper()}`",
            _kind(field.annotation),
            _default(field),
            field.description,
        )
        rows.append("| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |")
    return "\n".join(rows) + "\n"


def with_table(document: str) -> str:
    """``document`` with the text between the markers replaced by the current table."""
    before, begin, rest = document.partition(BEGIN)
    _, end, after = rest.partition(END)
    if not begin or not end:
        raise ValueError(f"the document has no {BEGIN} ... {END} block")
    return f"{before}{BEGIN}\n{settings_table()}{END}{after}"


def _kind(annotation: Any) -> str:
    """What to write in the variable, in words."""
    if get_origin(annotation) in (Union, types.UnionType):
        annotation = next(arg for arg in get_args(annotation) if arg is not type(None))
    if isinstance(annotation, type) and issubclass(annotation, Enum):
        return " or ".join(f"`{member.value}`" for member in annotation)
    origin = get_origin(annotation)
    if origin is list:
        return "comma-separated list"
    if origin is dict:
        return "comma-separated `name=value`"
    names = {bool: "`true` or `false`", int: "integer", float: "number", str: "text", Path: "path"}
    return names.get(annotation, str(annotation))


def _default(field: FieldInfo) -> str:
    value = field.get_default(call_default_factory=True)
    if value is None or value == [] or value == {}:
        return "unset"
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    if isinstance(value, Enum):
        value = value.value
    return f"`{value}`"
