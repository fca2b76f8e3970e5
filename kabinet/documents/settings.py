"""What every document's Beanie settings share."""


class WholeDocuments:
    """Base of each document's ``Settings``: reads fetch whole documents.

    Without it Beanie sends, with every find, a projection naming each field of the
    model. The models read every field anyway, and the embedded engine copies each
    document to apply a projection: a quarter of the CPU of a `me` read
    (docs/performance.md). Fields stored but not in the model are ignored either way.
    """

    projection = None
