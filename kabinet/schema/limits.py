"""How many objects a document may ask for, counted before anything is executed.

Depth and alias limits bound a document's shape, not its size: three nested
connections of 100 each are shallow and ask for a million objects. The count here
multiplies down the tree: a connection field yields as many edges as its page
size (``first``, capped as the resolvers cap it), any other list a nominal
``NOMINAL_LIST_SIZE``, and every object-valued field counts once per parent.
"""

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
    OperationDefinitionNode,
    SelectionSetNode,
    get_named_type,
    get_nullable_type,
)
from graphql.execution.values import VariableValues, get_argument_values

from kabinet.resolvers.requests import MAX_COMMENTS
from kabinet.schema.memo import per_document
from kabinet.schema.pagination import page_size

MAX_OBJECTS = 5000
# Lists without paging (contacts, addresses, history, attachments...) are short by
# the domain's rules; ten is a generous estimate of each, except where a rule allows
# more and says how many.
NOMINAL_LIST_SIZE = 10
LIST_SIZES = {("Request", "comments"): MAX_COMMENTS}
_PAGE_ARGUMENTS = ("first", "last")


def count_objects(
    schema: GraphQLSchema,
    document: DocumentNode,
    operation: OperationDefinitionNode,
    variables: VariableValues,
) -> int:
    """The most objects ``operation`` of a valid ``document`` can return, with the
    variables coerced as execution will coerce them (defaults, `100.0` as 100)."""
    return ObjectCounter(schema, document, variables).count_operation(operation)


@per_document(maxsize=512)
def count_fixed_objects(
    schema: GraphQLSchema, document: DocumentNode, operation: OperationDefinitionNode
) -> int:
    """`count_objects` of an operation that declares no variables: the same on every run
    of its document, so counted once per parsed document (as validation is)."""
    return count_objects(schema, document, operation, VariableValues({}, {}))


class ObjectCounter:
    """Counts per parent object: a selection under ``n`` parents asks for ``n`` times as
    many, so each fragment is counted once per page size and reused wherever it is spread
    (a fragment spread twice by the next one, twenty deep, is still twenty counts)."""

    def __init__(
        self, schema: GraphQLSchema, document: DocumentNode, variables: VariableValues
    ) -> None:
        self.schema = schema
        self.fragments = {
            definition.name.value: definition
            for definition in document.definitions
            if isinstance(definition, FragmentDefinitionNode)
        }
        self.variables = variables
        self.counted: dict[tuple[str, int | None], int] = {}
        # Selections looked at: each written one at most once per page size it is met under.
        self.visits = 0

    def count_operation(self, operation: OperationDefinitionNode) -> int:
        root = self.schema.get_root_type(operation.operation)
        if root is None:
            return 0
        return self.count(root, operation.selection_set, page=None)

    def count(
        self, parent: GraphQLNamedType, selection_set: SelectionSetNode, *, page: int | None
    ) -> int:
        """Objects under ``selection_set`` per ``parent`` object; ``page`` is set when
        ``parent`` is a connection."""
        total = 0
        for selection in selection_set.selections:
            self.visits += 1
            match selection:
                case FieldNode(selection_set=SelectionSetNode() as children):
                    total += self._field(parent, selection, children, page)
                case InlineFragmentNode():
                    condition = selection.type_condition
                    fragment_type = self._type(condition.name.value) if condition else parent
                    total += self.count(fragment_type, selection.selection_set, page=page)
                case FragmentSpreadNode():
                    total += self._fragment(selection.name.value, page)
        return total

    def _fragment(self, name: str, page: int | None) -> int:
        key = (name, page)
        if key not in self.counted:
            fragment = self.fragments[name]
            self.counted[key] = self.count(
                self._type(fragment.type_condition.name.value), fragment.selection_set, page=page
            )
        return self.counted[key]

    def _field(
        self,
        parent: GraphQLNamedType,
        node: FieldNode,
        children: SelectionSetNode,
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
            arguments = get_argument_values(field, node, self.variables)
            child_page = page_size(next(filter(None, map(arguments.get, _PAGE_ARGUMENTS)), None))
        elif isinstance(get_nullable_type(field.type), GraphQLList):
            size = page or LIST_SIZES.get((parent.name, node.name.value), NOMINAL_LIST_SIZE)
        return size * (1 + self.count(get_named_type(field.type), children, page=child_page))

    def _type(self, name: str) -> GraphQLNamedType:
        found = self.schema.get_type(name)
        if found is None:  # pragma: no cover - validation rejects unknown type conditions
            raise ValueError(f"unknown type {name}")
        return found
