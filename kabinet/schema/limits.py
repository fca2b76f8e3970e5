"""How many objects a document may ask for, counted before anything is executed.

Depth and alias limits bound a document's shape, not its size: three nested
connections of 100 each are shallow and ask for a million objects. The count here
multiplies down the tree: a connection field yields as many edges as its page
size (``first``, capped as the resolvers cap it), any other list a nominal
``NOMINAL_LIST_SIZE``, and every object-valued field counts once per parent.
"""

from collections.abc import Mapping

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLInterfaceType,
    GraphQLList,
    GraphQLNamedType,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    IntValueNode,
    SelectionSetNode,
    VariableNode,
    get_named_type,
    get_nullable_type,
    get_operation_ast,
)

from kabinet.schema.pagination import page_size

MAX_OBJECTS = 5000
# Lists without paging (contacts, addresses, history, attachments...) are short by
# the domain's rules; ten is a generous estimate of each.
NOMINAL_LIST_SIZE = 10
_PAGE_ARGUMENTS = ("first", "last")


def count_objects(
    schema: GraphQLSchema,
    document: DocumentNode,
    operation_name: str | None,
    variables: Mapping[str, object] | None,
) -> int:
    """The most objects the named operation of a valid ``document`` can return."""
    operation = get_operation_ast(document, operation_name)
    root = schema.get_root_type(operation.operation) if operation else None
    if operation is None or root is None:
        return 0
    walk = _Walk(
        schema,
        {
            definition.name.value: definition
            for definition in document.definitions
            if isinstance(definition, FragmentDefinitionNode)
        },
        variables or {},
    )
    return walk.count(root, operation.selection_set, multiplier=1, page=None)


class _Walk:
    def __init__(
        self,
        schema: GraphQLSchema,
        fragments: dict[str, FragmentDefinitionNode],
        variables: Mapping[str, object],
    ) -> None:
        self.schema = schema
        self.fragments = fragments
        self.variables = variables

    def count(
        self,
        parent: GraphQLNamedType,
        selection_set: SelectionSetNode,
        *,
        multiplier: int,
        page: int | None,
    ) -> int:
        """Objects under ``selection_set``; ``page`` is set when ``parent`` is a connection."""
        total = 0
        for selection in selection_set.selections:
            match selection:
                case FieldNode(selection_set=SelectionSetNode() as children):
                    total += self._field(parent, selection, children, multiplier, page)
                case InlineFragmentNode():
                    condition = selection.type_condition
                    fragment_type = self._type(condition.name.value) if condition else parent
                    total += self.count(
                        fragment_type, selection.selection_set, multiplier=multiplier, page=page
                    )
                case FragmentSpreadNode():
                    fragment = self.fragments[selection.name.value]
                    total += self.count(
                        self._type(fragment.type_condition.name.value),
                        fragment.selection_set,
                        multiplier=multiplier,
                        page=page,
                    )
        return total

    def _field(
        self,
        parent: GraphQLNamedType,
        node: FieldNode,
        children: SelectionSetNode,
        multiplier: int,
        page: int | None,
    ) -> int:
        if not isinstance(parent, (GraphQLObjectType, GraphQLInterfaceType)):
            return 0
        field = parent.fields.get(node.name.value)
        if field is None:  # introspection meta-fields
            return 0
        child_page = None
        size = 1
        if any(name in field.args for name in _PAGE_ARGUMENTS):
            child_page = page_size(self._page_argument(node))
        elif isinstance(get_nullable_type(field.type), GraphQLList):
            size = page or NOMINAL_LIST_SIZE
        objects = multiplier * size
        return objects + self.count(
            get_named_type(field.type), children, multiplier=objects, page=child_page
        )

    def _page_argument(self, node: FieldNode) -> int | None:
        for argument in node.arguments or ():
            if argument.name.value not in _PAGE_ARGUMENTS:
                continue
            match argument.value:
                case IntValueNode(value=value):
                    return int(value)
                case VariableNode(name=name):
                    given = self.variables.get(name.value)
                    return given if isinstance(given, int) else None
        return None

    def _type(self, name: str) -> GraphQLNamedType:
        found = self.schema.get_type(name)
        if found is None:  # pragma: no cover - validation rejects unknown type conditions
            raise ValueError(f"unknown type {name}")
        return found
