"""The documents' base (kabinet.documents.base) and their reading from what is stored."""

import pytest
from bson import ObjectId
from pydantic import ValidationError
from pydantic._internal._model_construction import init_private_attributes

from kabinet.db import Database, from_stored
from kabinet.documents import (
    ALL_DOCUMENTS,
    ContactDocument,
    PolicyDocument,
    SessionDocument,
    UserDocument,
)
from kabinet.documents.base import Document, private_defaults_setter


@pytest.mark.parametrize("document", ALL_DOCUMENTS, ids=lambda document: document.__name__)
def test_every_document_reads_its_attributes_as_any_object(document: type[Document]):
    assert issubclass(document, Document)
    assert document.__getattribute__ is object.__getattribute__


def test_a_lazy_parse_is_refused_rather_than_left_with_placeholders():
    with pytest.raises(TypeError, match="parsed whole"):
        UserDocument.lazy_parse({"email": "a@example.com"})


def test_private_attributes_are_still_read_through_pydantic():
    user = UserDocument.model_construct(email="a@example.com")

    assert user.email == "a@example.com"
    assert user.get_saved_state() is None  # Beanie's private `_saved_state`


@pytest.mark.parametrize(
    "document",
    [UserDocument, SessionDocument, ContactDocument, PolicyDocument],
    ids=lambda document: document.__name__,
)
async def test_a_stored_document_is_read_as_model_validate_reads_it(
    member: str, document: type[Document]
):
    stored = await document.get_pymongo_collection().find_one({})
    assert stored is not None

    read, validated = from_stored(document, stored), document.model_validate(stored)

    assert type(read) is document
    assert read.model_dump() == validated.model_dump()
    assert read.model_fields_set == validated.model_fields_set
    assert read.__pydantic_private__ == validated.__pydantic_private__
    assert read.__pydantic_private__["_store"] is not validated.__pydantic_private__["_store"]


async def test_a_stored_document_that_does_not_fit_its_model_is_refused(database: Database):
    with pytest.raises(ValidationError):
        from_stored(SessionDocument, {"_id": ObjectId(), "token_hash": 5})


@pytest.mark.parametrize("document", ALL_DOCUMENTS, ids=lambda document: document.__name__)
def test_private_attributes_are_set_as_pydantic_sets_them(document: type[Document]):
    """Each document's own `model_post_init` (`private_defaults_setter`) against pydantic's."""
    assert document.model_post_init.__qualname__.startswith(private_defaults_setter.__name__)
    ours, pydantics = document.__new__(document), document.__new__(document)

    document.model_post_init(ours, None)
    init_private_attributes(pydantics, None)

    assert list(ours.__pydantic_private__.items()) == list(pydantics.__pydantic_private__.items())
    assert ours.__pydantic_private__["_store"] is not pydantics.__pydantic_private__["_store"]


def test_a_model_with_its_own_post_init_keeps_pydantics():
    class Noted(Document):
        note: str = ""

        def model_post_init(self, context: object, /) -> None:
            self.note = "set"

    noted = Noted.model_validate({})

    assert private_defaults_setter(Noted) is None
    assert noted.note == "set"
    assert noted.get_saved_state() is None  # Beanie's private `_saved_state`, set too
