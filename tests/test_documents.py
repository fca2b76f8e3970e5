"""The documents' base (kabinet.documents.base): plain attribute reads, whole parses."""

import pytest

from kabinet.documents import ALL_DOCUMENTS, UserDocument
from kabinet.documents.base import Document


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
