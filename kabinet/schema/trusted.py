"""Trusted documents: operations sent by id, looked up in manifests of approved documents.

An id comes as GraphQL over HTTP's `documentId` (persisted documents appendix) or as
Apollo's `extensions.persistedQuery.sha256Hash`; a manifest is what graphql-codegen's client
preset writes (`persisted-documents.json`: `{"sha256:<hex>": "<document>"}`). The API
guide's documents are the project's own manifest, `kabinet/trusted-documents.json`.
"""

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Self

from graphql import GraphQLSyntaxError, parse

from kabinet.auth.context import Caller
from kabinet.config import Settings, TrustedDocuments
from kabinet.i18n import Locale, translate
from kabinet.roles import STAFF_ROLES
from kabinet.schema.errors import GraphQLErrorCode

GUIDE_MANIFEST = Path(__file__).parent.parent / "trusted-documents.json"
DOCUMENT_ID = "documentId"
_PREFIX = "sha256:"


class ManifestError(ValueError):
    """A manifest the server cannot trust; raised at start-up, naming the file and line."""


class DocumentRefused(Exception):
    """An operation refused before it runs: typed by ``code``, told by the message ``key``."""

    def __init__(self, code: GraphQLErrorCode, key: str) -> None:
        super().__init__(code)
        self.code = code
        self.key = key

    def formatted(self, locale: Locale) -> dict[str, Any]:
        """As an entry of a response's `errors`."""
        return {"message": translate(self.key, locale), "extensions": {"code": self.code}}


def digest(document: str) -> str:
    return hashlib.sha256(document.encode()).hexdigest()


def _hex(document_id: str) -> str:
    """The hex SHA-256 a document id names, `sha256:` prefixed or not, in any case."""
    return document_id.removeprefix(_PREFIX).lower()


def load_manifest(path: Path) -> dict[str, str]:
    """The documents of one manifest by the hex SHA-256 of their text, each checked: an id
    that is not its document's hash or a document that does not parse is refused."""
    text = path.read_text(encoding="utf-8")
    try:
        entries = json.loads(text)
    except json.JSONDecodeError as error:
        raise ManifestError(f"{path}, line {error.lineno}: not JSON: {error.msg}") from error
    if not isinstance(entries, dict):
        raise ManifestError(f"{path}, line 1: not an object of document ids and documents")
    documents = {}
    for document_id, document in entries.items():
        line = text[: max(text.find(json.dumps(document_id)), 0)].count("\n") + 1
        where = f"{path}, line {line}"
        if not isinstance(document, str):
            raise ManifestError(f"{where}: the document of {document_id} is not a string")
        hashed = _hex(document_id)
        if hashed != digest(document):
            raise ManifestError(f"{where}: {document_id} is not the SHA-256 of its document")
        try:
            parse(document)
        except GraphQLSyntaxError as error:
            raise ManifestError(f"{where}: the document does not parse: {error.message}") from error
        documents[hashed] = document
    return documents


def with_document_id(data: Any) -> Any:
    """A request's fields with a top-level `documentId` moved into its `extensions`, which
    Strawberry keeps (it drops fields it does not know); anything else as it was."""
    if not isinstance(data, dict) or DOCUMENT_ID not in data:
        return data
    extensions = data.get("extensions")
    if extensions is None:
        extensions = {}
    elif not isinstance(extensions, dict):
        return data  # Strawberry refuses such extensions itself
    return {**data, "extensions": {**extensions, DOCUMENT_ID: data[DOCUMENT_ID]}}


@dataclass(frozen=True, slots=True)
class TrustedDocumentPolicy:
    mode: TrustedDocuments
    documents: Mapping[str, str]
    # With GraphiQL on, staff may still try out documents that no app has yet.
    staff_send_documents: bool

    @classmethod
    def of(cls, settings: Settings) -> Self:
        """The policy of ``settings``; a manifest that cannot be trusted is a ManifestError
        here, so the server refuses to start."""
        documents: dict[str, str] = {}
        for path in (GUIDE_MANIFEST, *settings.trusted_documents_manifests):
            documents |= load_manifest(path)
        return cls(settings.trusted_documents_mode, documents, settings.graphiql_enabled)

    def document(self, query: object, extensions: object, caller: Caller) -> object:
        """The document to run for a request of ``query`` and ``extensions`` (with its
        `documentId` folded in, see `with_document_id`); ``query`` as it came when the
        request names no id. Raises DocumentRefused."""
        sent = query if isinstance(query, str) and query else None
        document_id = self._document_id(extensions)
        if document_id is None:
            if sent is not None and self.mode is TrustedDocuments.REQUIRE:
                staff = caller.user is not None and caller.user.role in STAFF_ROLES
                if not (self.staff_send_documents and staff):
                    raise DocumentRefused(
                        GraphQLErrorCode.PERSISTED_QUERY_REQUIRED, "trusted.required"
                    )
            return query
        if self.mode is TrustedDocuments.OFF:
            raise DocumentRefused(
                GraphQLErrorCode.PERSISTED_QUERY_NOT_SUPPORTED, "trusted.not_supported"
            )
        hashed = _hex(document_id)
        if sent is not None:
            if digest(sent) != hashed:
                raise DocumentRefused(
                    GraphQLErrorCode.PERSISTED_QUERY_HASH_MISMATCH, "trusted.hash_mismatch"
                )
            if self.mode is TrustedDocuments.ALLOW:
                return sent  # an automatic persisted query's retry with its document
        found = self.documents.get(hashed)
        if found is None:
            raise DocumentRefused(GraphQLErrorCode.PERSISTED_QUERY_NOT_FOUND, "trusted.not_found")
        return found

    @staticmethod
    def _document_id(extensions: object) -> str | None:
        if not isinstance(extensions, dict):
            return None
        found = extensions.get(DOCUMENT_ID)
        persisted = extensions.get("persistedQuery")
        if found is None and isinstance(persisted, dict):
            found = persisted.get("sha256Hash")
        if found is None:
            return None
        if not isinstance(found, str):
            raise DocumentRefused(GraphQLErrorCode.PERSISTED_QUERY_NOT_FOUND, "trusted.not_found")
        return found
