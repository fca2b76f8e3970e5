"""The checked-in SDL matches the code, and every type and field is described."""

import importlib
import pkgutil
import re
from enum import Enum
from pathlib import Path

from graphql import (
    GraphQLEnumType,
    GraphQLInputObjectType,
    GraphQLInterfaceType,
    GraphQLObjectType,
    GraphQLUnionType,
)

import kabinet
from kabinet.schema import build_schema


def test_checked_in_schema_matches_the_code(project_root: Path):
    checked_in = (project_root / "schema.graphql").read_text(encoding="utf-8")
    assert checked_in.strip() == build_schema().as_str().strip(), (
        "schema.graphql is out of date: run `make schema` and commit it"
    )


def test_every_type_field_and_enum_value_has_a_description():
    schema = build_schema()._schema
    described_kinds = (
        GraphQLObjectType,
        GraphQLInterfaceType,
        GraphQLInputObjectType,
        GraphQLUnionType,
        GraphQLEnumType,
    )
    root_types = {"Query", "Mutation", "Subscription"}
    missing = []
    for name, graphql_type in schema.type_map.items():
        if name.startswith("__") or not isinstance(graphql_type, described_kinds):
            continue
        if name not in root_types and not graphql_type.description:
            missing.append(name)
        missing.extend(
            f"{name}.{field_name}"
            for field_name, field in getattr(graphql_type, "fields", {}).items()
            if not field.description
        )
        missing.extend(
            f"{name}.{value_name}"
            for value_name, value in getattr(graphql_type, "values", {}).items()
            if not value.description
        )
    assert missing == []


def test_no_description_cites_a_document_the_reader_does_not_have():
    """Descriptions are read in GraphiQL and generated code, without the product's guide."""
    schema = build_schema()._schema
    descriptions: dict[str, str] = {}
    for name, graphql_type in schema.type_map.items():
        descriptions[name] = graphql_type.description or ""
        for field_name, field in getattr(graphql_type, "fields", {}).items():
            descriptions[f"{name}.{field_name}"] = field.description or ""
            for argument_name, argument in getattr(field, "args", {}).items():
                descriptions[f"{name}.{field_name}({argument_name})"] = argument.description or ""
        for value_name, value in getattr(graphql_type, "values", {}).items():
            descriptions[f"{name}.{value_name}"] = value.description or ""
    citing = {
        where: text
        for where, text in descriptions.items()
        if re.search(r"\bguide\b|\bsection \d|\b\d\.\d\b", text, re.IGNORECASE)
    }
    assert citing == {}


def test_schema_enums_are_the_domain_enums_not_copies_of_them():
    """A GraphQL enum wraps the domain's own class, so resolvers pass members through and
    no schema module keeps a second list of the same members to convert with `.value`."""
    for module in pkgutil.walk_packages(kabinet.__path__, "kabinet."):
        importlib.import_module(module.name)
    domain = {
        frozenset(enum.__members__): f"{enum.__module__}.{enum.__qualname__}"
        for enum in _subclasses(Enum)
        if enum.__module__.startswith("kabinet.")
        and not enum.__module__.startswith("kabinet.schema")
    }
    schema = build_schema()._schema
    copies = {
        name: domain[frozenset(graphql_type.values)]
        for name, graphql_type in schema.type_map.items()
        if isinstance(graphql_type, GraphQLEnumType)
        and not name.startswith("__")
        and graphql_type.wrapped_cls.__module__.startswith("kabinet.schema")
        and frozenset(graphql_type.values) in domain
    }
    assert copies == {}


def _subclasses(cls: type) -> set[type]:
    return {cls, *(sub for direct in cls.__subclasses__() for sub in _subclasses(direct))}
