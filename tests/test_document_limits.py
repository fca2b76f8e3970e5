"""Document limits: each one with a document just under it and one just over it,
and the settings that change what validation tells a client."""

import logging
from collections.abc import AsyncIterator

import httpx
import pytest
from graphql import (
    DocumentNode,
    FieldNode,
    FragmentSpreadNode,
    InlineFragmentNode,
    OperationDefinitionNode,
    Visitor,
    get_operation_ast,
    parse,
    visit,
)
from graphql.execution.values import get_variable_values

from kabinet.app import create_app
from kabinet.config import Environment, Settings, TrustedDocuments
from kabinet.db import Database
from kabinet.documents import RequestDocument
from kabinet.i18n import Locale, translate
from kabinet.resolvers.requests import MAX_COMMENTS
from kabinet.schema import build_schema
from kabinet.schema.extensions import validate_cached
from kabinet.schema.limits import (
    MAX_OBJECTS,
    NOMINAL_LIST_SIZE,
    ObjectCounter,
    count_fixed_objects,
    count_objects,
)
from kabinet.schema.memo import per_document
from kabinet.schema.shape import MAX_ALIASES, MAX_DEPTH, MAX_FIELDS, measure
from tests.conftest import serve_on_loopback
from tests.requests_support import callback, customer
from tests.support import Api, Mailbox

POLICY = "passwordPolicy { minLength }"


def error_messages(body: dict) -> list[str]:
    return [error["message"] for error in body.get("errors", [])]


async def test_depth_ten_passes_and_eleven_is_refused(api: Api):
    # Each `requests -> edges -> node -> applicant` level is four fields deeper.
    at_ten = "{ me { requests(first: 1) { edges { node { applicant { "
    at_ten += "requests(first: 1) { edges { node { applicant { requests(first: 1) { "
    at_ten += "totalCount } } } } } } } } } } }"
    at_eleven = at_ten.replace("totalCount", "edges { cursor }")
    assert "errors" not in await api.post(at_ten)
    refused = await api.post(at_eleven)
    assert "data" not in refused
    (error,) = refused["errors"]
    assert error["extensions"] == {"code": "TOO_DEEP", "count": 11, "limit": MAX_DEPTH}
    assert error["message"] == translate("error.too_deep", Locale.UK, count=11, limit=MAX_DEPTH)


async def test_a_document_sent_again_is_not_validated_again(api: Api):
    document = "{ passwordPolicy { minLength maxLength requiresDigit } }"
    await api.data(document)
    before = validate_cached.cache_info()
    await api.data(document)
    after = validate_cached.cache_info()
    assert (after.hits - before.hits, after.misses - before.misses) == (1, 0)


async def test_fifteen_aliases_pass_and_sixteen_are_refused(api: Api):
    fifteen = "{ " + " ".join(f"a{n}: {POLICY}" for n in range(15)) + " }"
    sixteen = "{ " + " ".join(f"a{n}: {POLICY}" for n in range(16)) + " }"
    assert len((await api.data(fifteen)).keys()) == 15
    refused = await api.http.post(
        "/graphql", json={"query": sixteen}, headers={"Accept-Language": "en"}
    )
    assert "data" not in refused.json()
    assert refused.json()["errors"] == [
        {
            "message": "This document has 16 aliases; the limit is 15.",
            "extensions": {"code": "TOO_MANY_ALIASES", "count": 16, "limit": MAX_ALIASES},
        }
    ]


async def test_two_thousand_tokens_pass_and_one_more_is_refused(api: Api):
    # A long list literal makes tokens without making validation work: `{ me { requests
    # ( filter : { statuses : [` ... `] } ) { totalCount } } }` is 19 tokens plus the list.
    def document(statuses: int) -> str:
        listed = " ".join(["SUBMITTED"] * statuses)
        return f"{{ me {{ requests(filter: {{statuses: [{listed}]}}) {{ totalCount }} }} }}"

    assert await api.data(document(2000 - 19)) == {"me": None}
    refused = await api.post(document(2000 - 19 + 1))
    assert "more than 2000 tokens" in error_messages(refused)[0]


def fragment_chain(length: int) -> str:
    """An 800-byte document whose fragments expand to 2^length fields: each fragment
    spreads the one before it twice."""
    fragments = ["fragment F1 on User { contacts { id } }"]
    fragments += [
        f"fragment F{n} on User {{ ...F{n - 1} ...F{n - 1} }}" for n in range(2, length + 1)
    ]
    return f"query Chain {{ me {{ ...F{length} }} }} " + " ".join(fragments)


def own_selections(document_text: str) -> int:
    """The fields, spreads and inline fragments written in a document, each once."""

    class Counter(Visitor):
        seen = 0

        def enter(self, node: object, *_: object) -> None:
            if isinstance(node, (FieldNode, FragmentSpreadNode, InlineFragmentNode)):
                Counter.seen += 1

    visit(parse(document_text), Counter())
    return Counter.seen


@pytest.mark.parametrize("length", [19, 30, 60])
def test_fragment_chains_are_measured_by_visiting_each_selection_once(length: int):
    document = fragment_chain(length)
    measured = measure(parse(document))
    assert measured.shape.fields == 2 ** (length - 1) * 2 + 1  # me, then contacts { id } each
    assert measured.shape.fields > MAX_FIELDS
    assert measured.visits == own_selections(document)
    # The object count reuses each fragment's count wherever it is spread, too.
    schema = build_schema()._schema
    parsed = parse(document)
    operation = get_operation_ast(parsed)
    assert operation is not None
    counter = ObjectCounter(schema, parsed, {})
    assert counter.count_operation(operation) == 1 + 2 ** (length - 1) * NOMINAL_LIST_SIZE
    assert counter.visits <= 2 * own_selections(document)


@pytest.mark.parametrize("length", [19, 30, 60])
async def test_a_fragment_chain_is_refused_before_any_rule_walks_it(api: Api, length: int):
    before = validate_cached.cache_info()
    refused = await api.post(fragment_chain(length))
    assert "data" not in refused
    (error,) = refused["errors"]
    fields = 2 ** (length - 1) * 2 + 1
    assert error["extensions"] == {"code": "TOO_MANY_FIELDS", "count": fields, "limit": MAX_FIELDS}
    assert error["message"] == translate(
        "error.too_many_fields", Locale.UK, count=fields, limit=MAX_FIELDS
    )
    # graphql-core's rules never saw it: the shape check refused it first.
    after = validate_cached.cache_info()
    assert (after.hits, after.misses) == (before.hits, before.misses)


def test_a_chain_within_the_limits_counts_as_written_out():
    # Ten links expand to 2^10 + 1 fields: over the field limit only when written out.
    nine = measure(parse(fragment_chain(9))).shape
    assert (nine.fields, nine.depth, nine.aliases) == (2**9 + 1, 2, 0)
    assert nine.fields <= MAX_FIELDS
    # An alias inside a fragment counts once per spread, as if written out.
    aliased = "{ me { ...A ...A } } fragment A on User { a: email b: email }"
    assert measure(parse(aliased)).shape.aliases == 4
    # A cycle or an unknown fragment ends the walk; validation reports it.
    cyclic = "{ me { ...A } } fragment A on User { ...B } fragment B on User { ...A }"
    assert measure(parse(cyclic)).shape.fields == 1
    assert measure(parse("{ me { ...Missing } }")).shape.fields == 1


# me(1) + requests(1) + 50 edges + 50 nodes + 50 applicants + 50 inner connections
# + 50·n edges + 50·n nodes = 202 + 100·n objects.
COSTLY = """query Costly($inner: Int) {
  me { requests(first: 50) { edges { node { applicant {
    requests(first: $inner) { edges { node { id } } }
  } } } } }
}"""


def count(document_text: str, variables: dict | None = None) -> int:
    """The object count of a document's operation, variables coerced as for execution."""
    schema = build_schema()._schema
    document = parse(document_text)
    operation = get_operation_ast(document)
    assert operation is not None
    coerced = get_variable_values(schema, operation.variable_definitions or (), variables or {})
    assert not isinstance(coerced, list), coerced
    return count_objects(schema, document, operation, coerced)


def test_the_count_multiplies_page_sizes_and_caps_them_like_the_resolvers():
    assert count(COSTLY, {"inner": 47}) == 202 + 4700
    assert count(COSTLY, {"inner": 48}) == 202 + 4800
    # `first` above the page cap is served as 100, and counted as 100.
    assert count(COSTLY, {"inner": 5000}) == 202 + 10000
    # Without `first` a connection serves its default page of 20.
    assert count(COSTLY, {}) == 202 + 2000
    # A plain list counts NOMINAL_LIST_SIZE objects per parent, through fragments too.
    listed = "query { me { ...F } } fragment F on User { contacts { id } ... on User { sessions { id } } }"
    assert count(listed) == 1 + 2 * NOMINAL_LIST_SIZE
    # A list whose rule allows more is counted at that rule's maximum.
    comments = "{ me { requests(first: 20) { edges { node { comments { id } } } } } }"
    assert count(comments) == 1 + 1 + 20 + 20 + 20 * MAX_COMMENTS


def test_the_count_sees_the_values_execution_will_use():
    defaulted = COSTLY.replace("$inner: Int", "$inner: Int = 100")
    assert count(defaulted) == 202 + 10000  # the variable's default, not the page default
    assert count(COSTLY, {"inner": 100.0}) == 202 + 10000  # an integral float is an Int


async def test_a_document_over_the_object_limit_is_refused_before_it_runs(
    api: Api, mailbox: Mailbox
):
    token = await customer(api, mailbox)
    await callback(api, token)
    under = await api.post(COSTLY, {"inner": 47}, token=token)
    assert "errors" not in under
    assert len(under["data"]["me"]["requests"]["edges"]) == 1

    over = await api.post(COSTLY, {"inner": 48}, token=token)
    assert "data" not in over
    (error,) = over["errors"]
    assert error["extensions"] == {"code": "TOO_MANY_OBJECTS", "objects": 5002, "limit": 5000}
    assert error["message"] == translate(
        "error.too_many_objects", Locale.UK, count=5002, limit=MAX_OBJECTS
    )
    # The same through a variable's default or an integral float.
    defaulted = COSTLY.replace("$inner: Int", "$inner: Int = 48")
    for document, variables in ((defaulted, {}), (COSTLY, {"inner": 48.0})):
        (error,) = (await api.post(document, variables, token=token))["errors"]
        assert error["extensions"]["objects"] == 5002


async def test_a_document_without_variables_is_counted_once_and_refused_each_time(
    api: Api, mailbox: Mailbox
):
    token = await customer(api, mailbox)
    fixed = COSTLY.replace("($inner: Int)", "").replace("$inner", "48")
    before = count_fixed_objects.cache_info()
    answers = [await api.post(fixed, {"inner": 1}, token=token) for _ in range(2)]
    after = count_fixed_objects.cache_info()

    # A variable sent to an operation that declares none changes nothing, as in execution.
    assert [a["errors"][0]["extensions"]["objects"] for a in answers] == [5002, 5002]
    assert (after.misses - before.misses, after.hits - before.hits) == (1, 1)


@pytest.fixture
async def production(settings: Settings, database: Database) -> AsyncIterator[Api]:
    """A second server on the same database, configured as in production without
    introspection; it runs any document (the tests send their own, not approved ones)."""
    configured = settings.model_copy(
        update={
            "env": Environment.PRODUCTION,
            "introspection": False,
            "graphiql": None,
            "trusted_documents": TrustedDocuments.ALLOW,
        }
    )
    instance, task, port = await serve_on_loopback(create_app(configured, database=database))
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30) as http:
        yield Api(http)
    instance.should_exit = True
    await task


async def test_suggestions_help_in_development_and_are_hidden_in_production(
    api: Api, production: Api
):
    typo = "{ passwordPolicy { minLenght } }"
    assert "Did you mean 'minLength'" in error_messages(await api.post(typo))[0]
    (hidden,) = error_messages(await production.post(typo))
    assert hidden == "Cannot query field 'minLenght' on type 'PasswordPolicy'."
    # Variables are coerced before execution with the same rule: no enum or field names.
    filtered = "query ($f: RequestFilter) { me { requests(filter: $f) { totalCount } } }"
    for variables in ({"f": {"statusez": ["SUBMITTED"]}}, {"f": {"statuses": ["SUBMITED"]}}):
        assert "Did you mean" in error_messages(await api.post(filtered, variables))[0]
        (refused,) = error_messages(await production.post(filtered, variables))
        assert "Did you mean" not in refused
        assert "Variable '$f' has invalid value" in refused


async def test_introspection_and_graphiql_can_be_switched_off(api: Api, production: Api):
    introspection = "{ __schema { queryType { name } } }"
    assert (await api.data(introspection))["__schema"]["queryType"]["name"] == "Query"
    refused = await production.post(introspection)
    assert "introspection" in error_messages(refused)[0].lower()
    # Typename is not introspection of the schema: clients rely on it for unions.
    assert (await production.data("{ __typename }")) == {"__typename": "Query"}

    page = {"Accept": "text/html"}
    assert (
        (await api.http.get("/graphql", headers=page))
        .headers["content-type"]
        .startswith("text/html")
    )
    assert (
        not (await production.http.get("/graphql", headers=page))
        .headers["content-type"]
        .startswith("text/html")
    )


async def test_an_unexpected_error_reaches_the_client_masked_and_the_log_in_full(
    api: Api, mailbox: Mailbox, caplog: pytest.LogCaptureFixture, production: Api
):
    token = await customer(api, mailbox)
    request = await callback(api, token)
    # Data no code path writes: a status this version does not know.
    collection = RequestDocument.get_pymongo_collection()
    await collection.update_one({"number": request["number"]}, {"$set": {"status": "LOST"}})
    query = "{ me { requests { edges { node { status } } } } }"

    for server in (api, production):
        caplog.clear()
        with caplog.at_level(logging.ERROR, logger="kabinet.errors"):
            response = await server.http.post(
                "/graphql",
                json={"query": query},
                headers={"Authorization": f"Bearer {token}", "Accept-Language": "en"},
            )
        request_id = response.headers["x-request-id"]
        (error,) = response.json()["errors"]
        assert error["message"] == translate(
            "error.unexpected", Locale.UK, request_id=request_id
        )  # the account's language wins over Accept-Language
        assert error["extensions"] == {"code": "INTERNAL_SERVER_ERROR", "requestId": request_id}
        assert "LOST" not in response.text
        assert "validation" not in response.text.lower()
        (record,) = caplog.records
        assert request_id in record.getMessage()
        assert record.exc_info is not None
        assert "LOST" in str(record.exc_info[1])


class UnhashableDocument(DocumentNode):
    """A parsed document that fails if anything hashes it: hashing walks every node."""

    def __hash__(self) -> int:
        raise AssertionError("the document was hashed")


def test_work_per_document_is_found_by_the_documents_identity_without_hashing_it():
    seen: list[DocumentNode] = []

    @per_document(maxsize=2)
    def operations(document: DocumentNode, *, named: bool) -> int:
        seen.append(document)
        return sum(isinstance(d, OperationDefinitionNode) == named for d in document.definitions)

    first = UnhashableDocument(definitions=parse("{ a }").definitions)
    twin = UnhashableDocument(definitions=first.definitions)
    assert twin == first  # equal by value, as graphql-core compares nodes...
    assert operations(first, named=True) == operations(first, named=True) == 1
    assert seen == [first]
    operations(twin, named=True)  # ...but another parse is another entry
    operations(first, named=False)  # and other arguments count by value
    assert seen == [first, twin, first]
    assert operations.cache_info().currsize == 2
    operations(first, named=True)  # evicted as the least recently used
    assert len(seen) == 4
    assert seen[-1] is first
