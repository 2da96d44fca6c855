"""Structured logs: every line says which pile and which request it is about.

The ASGI middleware ``RequestContext`` gives each HTTP request and WebSocket its request id (the caller's
``X-Request-Id`` if it is sane, else a new one, echoed in the response) and, on ``/ocpp/{id}``, the pile id;
``ContextFilter`` copies both onto every log record made while handling it, in tasks spawned from it too.
``CHARGEOPS_LOG_FORMAT=json`` writes one JSON object per line for log collectors.
"""

from __future__ import annotations

import contextvars
import json
import logging
import re
import uuid
from datetime import UTC, datetime
from typing import Any

pile_id: contextvars.ContextVar[str] = contextvars.ContextVar("pile_id", default="-")
request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")

_SANE_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")


class ContextFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.pile = pile_id.get()
        record.request_id = request_id.get()
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "at": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "pile": getattr(record, "pile", "-"),
            "request": getattr(record, "request_id", "-"),
            "message": record.getMessage(),
        }
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False)


TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s pile=%(pile)s req=%(request_id)s %(message)s"


def configure(level: str, fmt: str = "text") -> None:
    """Root logging for a node: one handler on stderr, with the pile and request on every line."""
    handler = logging.StreamHandler()
    handler.addFilter(ContextFilter())
    handler.setFormatter(JsonFormatter() if fmt == "json" else logging.Formatter(TEXT_FORMAT))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())


class RequestContext:
    """ASGI middleware: request id (and pile id on the OCPP endpoint) for everything done for one connection."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        given = dict(scope.get("headers") or []).get(b"x-request-id", b"").decode("latin-1")
        rid = given if _SANE_ID.fullmatch(given) else uuid.uuid4().hex[:16]
        request_token = request_id.set(rid)
        path: str = scope.get("path", "")
        pile_token = pile_id.set(path.rsplit("/", 1)[-1][:48] or "-") if path.startswith("/ocpp/") else None

        async def send_with_id(message: dict[str, Any]) -> None:
            if message["type"] in ("http.response.start", "websocket.accept"):
                message = {**message, "headers": [*message.get("headers", []), (b"x-request-id", rid.encode())]}
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            request_id.reset(request_token)
            if pile_token is not None:
                pile_id.reset(pile_token)
