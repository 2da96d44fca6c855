"""The /graphql endpoint against the GraphQL-over-HTTP specification's MUST and SHOULD rules.

Each test names the rule it checks. Everything goes over real HTTP to the real server.
"""

from __future__ import annotations

import json

import httpx
import pytest

from api.graphql.view import negotiate

GRAPHQL_RESPONSE = "application/graphql-response+json"
JSON = "application/json"
QUERY = "query($id: ID!) { chargePoint(id: $id) { id } }"


async def request(server, method: str, *, headers=None, **kwargs) -> httpx.Response:
    async with httpx.AsyncClient(base_url=server.base_url, timeout=10) as client:
        return await client.request(method, "/graphql", headers=headers or {}, **kwargs)


def media_type(response: httpx.Response) -> str:
    return response.headers["content-type"].split(";")[0].strip()


# --- media types and Accept -------------------------------------------------------------------------------


async def test_post_answers_in_graphql_response_json_when_asked(server):
    response = await request(server, "POST", json={"query": "{ __typename }"}, headers={"Accept": GRAPHQL_RESPONSE})
    assert response.status_code == 200
    assert media_type(response) == GRAPHQL_RESPONSE
    assert response.json() == {"data": {"__typename": "Query"}}


async def test_legacy_clients_asking_for_json_get_json(server):
    response = await request(server, "POST", json={"query": "{ __typename }"}, headers={"Accept": JSON})
    assert response.status_code == 200
    assert media_type(response) == JSON


async def test_no_accept_header_means_graphql_response_json_after_the_watershed(server):
    async with httpx.AsyncClient(base_url=server.base_url) as client:
        built = client.build_request("POST", "/graphql", json={"query": "{ __typename }"})
        del built.headers["accept"]
        response = await client.send(built)
    assert response.status_code == 200
    assert media_type(response) == GRAPHQL_RESPONSE


async def test_accept_q_values_pick_the_preferred_type(server):
    response = await request(
        server, "POST", json={"query": "{ __typename }"},
        headers={"Accept": f"{GRAPHQL_RESPONSE};q=0.5, {JSON};q=0.9"},
    )
    assert media_type(response) == JSON


async def test_unacceptable_accept_gets_406(server):
    response = await request(server, "POST", json={"query": "{ __typename }"}, headers={"Accept": "text/plain"})
    assert response.status_code == 406


@pytest.mark.parametrize(
    ("accept", "chosen"),
    [
        (None, GRAPHQL_RESPONSE),
        ("*/*", GRAPHQL_RESPONSE),
        ("application/*", GRAPHQL_RESPONSE),
        (f"{JSON}, {GRAPHQL_RESPONSE}", GRAPHQL_RESPONSE),
        (f"{JSON}", JSON),
        (f"*/*;q=0.1, {JSON}", JSON),
        (f"{GRAPHQL_RESPONSE};q=0, */*", JSON),
        ("text/html", None),
    ],
)
def test_negotiation(accept, chosen):
    assert negotiate(accept, [GRAPHQL_RESPONSE, JSON]) == chosen


# --- status codes with application/graphql-response+json ---------------------------------------------------


async def test_parse_error_is_400_without_data(server):
    response = await request(server, "POST", json={"query": "{ stations("}, headers={"Accept": GRAPHQL_RESPONSE})
    assert response.status_code == 400
    body = response.json()
    assert "data" not in body
    assert body["errors"][0]["message"].startswith("Syntax Error")


async def test_validation_error_is_400_without_data(server):
    response = await request(server, "POST", json={"query": "{ noSuchField }"}, headers={"Accept": GRAPHQL_RESPONSE})
    assert response.status_code == 400
    assert "data" not in response.json()


async def test_variable_coercion_error_is_400_without_data(server):
    response = await request(
        server, "POST", json={"query": QUERY, "variables": {"id": {"not": "an id"}}},
        headers={"Accept": GRAPHQL_RESPONSE},
    )
    assert response.status_code == 400
    body = response.json()
    assert "data" not in body
    assert "$id" in body["errors"][0]["message"]


async def test_missing_required_variable_is_400(server):
    response = await request(server, "POST", json={"query": QUERY}, headers={"Accept": GRAPHQL_RESPONSE})
    assert response.status_code == 400


async def test_unknown_operation_name_is_400(server):
    document = "query A { __typename } query B { __typename }"
    for name in ("C", None):
        response = await request(
            server, "POST", json={"query": document, "operationName": name}, headers={"Accept": GRAPHQL_RESPONSE}
        )
        assert response.status_code == 400, name
        assert "data" not in response.json()


async def test_operation_name_selects_the_operation(server):
    document = "query A { a: __typename } query B { b: __typename }"
    response = await request(
        server, "POST", json={"query": document, "operationName": "B"}, headers={"Accept": GRAPHQL_RESPONSE}
    )
    assert response.json() == {"data": {"b": "Query"}}


async def test_field_error_with_data_is_200(server):
    # a domain error inside a nullable field: data is present, so the status is 2xx
    response = await request(
        server, "POST", json={"query": '{ station(id: "not-a-number") { id } }'}, headers={"Accept": GRAPHQL_RESPONSE}
    )
    assert response.status_code == 200
    body = response.json()
    assert body["data"] == {"station": None}
    assert body["errors"][0]["path"] == ["station"]
    assert body["errors"][0]["extensions"]["code"] == "INVALID_INPUT"


# --- status codes with application/json -------------------------------------------------------------------


async def test_json_clients_get_200_for_graphql_request_errors(server):
    response = await request(server, "POST", json={"query": "{ noSuchField }"}, headers={"Accept": JSON})
    assert response.status_code == 200
    assert "data" not in response.json()


async def test_json_clients_get_400_for_ill_formed_requests(server):
    response = await request(server, "POST", content=b"{not json", headers={"Accept": JSON, "Content-Type": JSON})
    assert response.status_code == 400


# --- ill-formed requests ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        b"{not json",
        b"[]",
        b'[{"query": "{ __typename }"}]',
        b'"just a string"',
        b"{}",
        b'{"query": 42}',
        b'{"query": ""}',
        b'{"query": "{ __typename }", "variables": [1]}',
        b'{"query": "{ __typename }", "variables": "{}"}',
        b'{"query": "{ __typename }", "operationName": 3}',
        b'{"query": "{ __typename }", "extensions": 3}',
        b"\xff\xfe",
    ],
)
async def test_ill_formed_bodies_are_400(server, body):
    response = await request(server, "POST", content=body, headers={"Accept": GRAPHQL_RESPONSE, "Content-Type": JSON})
    assert response.status_code == 400
    payload = response.json()
    assert "data" not in payload
    assert payload["errors"][0]["message"]


@pytest.mark.parametrize("content_type", [None, "text/plain", "application/graphql", "application/json; charset=latin-1"])
async def test_post_needs_json_content_type(server, content_type):
    headers = {"Accept": GRAPHQL_RESPONSE}
    if content_type:
        headers["Content-Type"] = content_type
    response = await request(server, "POST", content=b'{"query": "{ __typename }"}', headers=headers)
    assert response.status_code == 415


async def test_json_content_type_with_utf8_charset_is_fine(server):
    response = await request(
        server, "POST", content='{"query": "{ __typename }"}'.encode(),
        headers={"Accept": GRAPHQL_RESPONSE, "Content-Type": "application/json; charset=utf-8"},
    )
    assert response.status_code == 200


async def test_oversized_body_is_413(server):
    body = json.dumps({"query": "{ __typename }", "extensions": {"pad": "x" * (1 << 20)}}).encode()
    response = await request(server, "POST", content=body, headers={"Accept": GRAPHQL_RESPONSE, "Content-Type": JSON})
    assert response.status_code == 413


# --- GET ---------------------------------------------------------------------------------------------------


async def test_get_runs_queries_with_json_encoded_variables(server):
    pile = await server.builders.charge_point()
    response = await request(
        server, "GET", params={"query": QUERY, "variables": json.dumps({"id": pile.id})},
        headers={"Accept": GRAPHQL_RESPONSE},
    )
    assert response.status_code == 200
    assert response.json() == {"data": {"chargePoint": {"id": pile.id}}}


async def test_get_refuses_mutations_with_405(server):
    # the rule is about the operation type, which is known before validation
    response = await request(
        server, "GET", params={"query": "mutation { __typename }"}, headers={"Accept": GRAPHQL_RESPONSE}
    )
    assert response.status_code == 405
    assert response.headers["allow"] == "POST"
    assert "data" not in response.json()


async def test_get_with_bad_variables_json_is_400(server):
    response = await request(
        server, "GET", params={"query": QUERY, "variables": "{nope"}, headers={"Accept": GRAPHQL_RESPONSE}
    )
    assert response.status_code == 400


async def test_get_without_query_is_400_for_api_clients(server):
    response = await request(server, "GET", headers={"Accept": GRAPHQL_RESPONSE})
    assert response.status_code == 400


async def test_subscriptions_are_not_served_over_http(server):
    response = await request(
        server, "POST", json={"query": 'subscription { sessionUpdates(sessionId: "1") { __typename } }'},
        headers={"Accept": GRAPHQL_RESPONSE},
    )
    assert response.status_code == 400
    assert "WebSocket" in response.json()["errors"][0]["message"]


@pytest.mark.parametrize("method", ["PUT", "DELETE", "PATCH"])
async def test_other_methods_are_405_with_allow(server, method):
    response = await request(server, method, headers={"Accept": GRAPHQL_RESPONSE})
    assert response.status_code == 405
    assert response.headers["allow"] == "GET, POST"


async def test_browsers_get_graphiql_served_by_us(server):
    response = await request(server, "GET", headers={"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    page = response.text
    assert "graphiql" in page.lower()
    assert "https://" not in page and "http://" not in page
