"""A document's shape (depth, aliases, fields) in time linear in its size.

A fragment can spread another fragment twice, and that one the next: twenty
fragments of two spreads each expand to a million fields. Walking every spread
again, as a plain recursive depth or alias counter does, costs the expanded size
and stalls the event loop on an 800-byte document. Here each fragment is measured
once and its measure reused wherever it is spread, so the walk visits every node
of the document once; the expanded size is then a number to compare with a limit,
never a tree to walk.
"""

from dataclasses import dataclass

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
)

from kabinet.schema.memo import per_document

MAX_DEPTH = 10
MAX_ALIASES = 15
# Fields once every fragment is expanded: as many as the token limit lets a document
# write out by hand, so fragments save typing but never multiply the work.
MAX_FIELDS = 2000


@dataclass(frozen=True, slots=True)
class Shape:
    """The deepest nesting of any operation, and the aliases and fields of all of them,
    counted as if every fragment spread were written out in place."""

    depth: int = 0
    aliases: int = 0
    fields: int = 0

    def beside(self, other: "Shape") -> "Shape":
        """Two selections side by side in one selection set."""
        return Shape(
            max(self.depth, other.depth), self.aliases + other.aliases, self.fields + other.fields
        )


@dataclass(frozen=True, slots=True)
class Measured:
    shape: Shape
    # Selection nodes the walk looked at: each of the document's own at most once.
    visits: int


@per_document(maxsize=512)
def measure(document: DocumentNode) -> Measured:
    """The shape of ``document`` (cached per parsed document, as validation is)."""
    walk = _Walk(
        {
            definition.name.value: definition
            for definition in document.definitions
            if isinstance(definition, FragmentDefinitionNode)
        }
    )
    shape = Shape()
    for definition in document.definitions:
        if isinstance(definition, OperationDefinitionNode):
            shape = shape.beside(walk.selections(definition.selection_set))
    return Measured(shape, walk.visits)


class _Walk:
    def __init__(self, fragments: dict[str, FragmentDefinitionNode]) -> None:
        self.fragments = fragments
        self.measured: dict[str, Shape] = {}
        self.visits = 0

    def selections(self, selection_set: SelectionSetNode) -> Shape:
        shape = Shape()
        for selection in selection_set.selections:
            self.visits += 1
            match selection:
                case FieldNode():
                    shape = shape.beside(self._field(selection))
                case InlineFragmentNode():
                    shape = shape.beside(self.selections(selection.selection_set))
                case FragmentSpreadNode():
                    shape = shape.beside(self._fragment(selection.name.value))
        return shape

    def _field(self, node: FieldNode) -> Shape:
        alias = 1 if node.alias else 0
        if node.selection_set is None:
            return Shape(0, alias, 1)
        children = self.selections(node.selection_set)
        # Introspection fields do not count towards depth: GraphiQL's own query is deep.
        depth = 0 if node.name.value.startswith("__") else 1 + children.depth
        return Shape(depth, alias + children.aliases, 1 + children.fields)

    def _fragment(self, name: str) -> Shape:
        if name in self.measured:
            return self.measured[name]
        fragment = self.fragments.get(name)
        if fragment is None:  # validation reports the unknown fragment
            return Shape()
        # A cycle meets this placeholder and ends; validation reports the cycle.
        self.measured[name] = Shape()
        self.measured[name] = self.selections(fragment.selection_set)
        return self.measured[name]
