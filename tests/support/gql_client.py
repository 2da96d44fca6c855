"""GraphQL clients for tests: queries over HTTP (httpx) and subscriptions over graphql-transport-ws."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
from websockets.asyncio.client import ClientConnection, connect

RESPONSE_TYPE = "application/graphql-response+json"


async def gql(
    base_url: str, query: str, variables: dict[str, Any] | None = None, *, token: str | None = None
) -> dict[str, Any]:
    """POST a query (as the holder of ``token``, if given); returns the whole body (``data`` and maybe ``errors``)."""
    headers = {"Accept": f"{RESPONSE_TYPE}, application/json;q=0.9"}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    async with httpx.AsyncClient(base_url=base_url, timeout=15) as client:
        response = await client.post("/graphql", json={"query": query, "variables": variables or {}}, headers=headers)
    body: dict[str, Any] = response.json()
    body["_status"] = response.status_code
    return body


async def data(
    base_url: str, query: str, variables: dict[str, Any] | None = None, *, token: str | None = None
) -> dict[str, Any]:
    """POST a query that must succeed; returns ``data``."""
    body = await gql(base_url, query, variables, token=token)
    assert "errors" not in body, body["errors"]
    assert body["_status"] == 200
    result: dict[str, Any] = body["data"]
    return result


class Subscription:
    def __init__(self, ws: ClientConnection, operation_id: str) -> None:
        self.ws = ws
        self.operation_id = operation_id

    async def next(self, timeout: float = 5) -> dict[str, Any]:
        """The next ``next`` payload of this operation (answers pings on the way)."""
        while True:
            message = json.loads(await asyncio.wait_for(self.ws.recv(), timeout))
            if message["type"] == "ping":
                await self.ws.send(json.dumps({"type": "pong"}))
                continue
            assert message.get("id") == self.operation_id, message
            if message["type"] == "complete":
                raise StopAsyncIteration
            assert message["type"] == "next", message
            payload: dict[str, Any] = message["payload"]
            return payload

    async def expect_complete(self, timeout: float = 5) -> None:
        message = json.loads(await asyncio.wait_for(self.ws.recv(), timeout))
        assert message == {"id": self.operation_id, "type": "complete"}, message


@asynccontextmanager
async def subscribe(
    ws_url: str, query: str, variables: dict[str, Any] | None = None, *, token: str | None = None
) -> AsyncIterator[Subscription]:
    async with connect(f"{ws_url}/graphql", subprotocols=["graphql-transport-ws"], open_timeout=5) as ws:  # type: ignore[list-item]
        init = {"authorization": f"Bearer {token}"} if token is not None else {}
        await ws.send(json.dumps({"type": "connection_init", "payload": init}))
        ack = json.loads(await asyncio.wait_for(ws.recv(), 5))
        assert ack["type"] == "connection_ack", ack
        await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": {"query": query, "variables": variables or {}}}))
        yield Subscription(ws, "1")
