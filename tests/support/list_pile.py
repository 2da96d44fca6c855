"""A strict OCPP 1.6J pile that keeps a local authorization list, for tests of access policies.

It answers the server's CALLs by itself, as the 1.6 specification says a pile does (SendLocalList full and
differential updates, VersionMismatch for a differential update whose version is not above the list's,
GetLocalListVersion, -1 / NotSupported without a local list), and validates every CALL it receives and every
answer it sends against the official schemas. The test drives the pile's own requests through ``call``.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

from tests.support.cp_client import CallErrorReceived, SchemaViolation, StrictChargePoint, _validator


class ListKeepingPile:
    def __init__(
        self, client: StrictChargePoint, *, version: int = 0, supported: bool = True, max_per_message: int | None = None
    ) -> None:
        self.client = client
        self.version = version
        self.entries: dict[str, dict[str, Any]] = {}
        """idTag -> idTagInfo, as the pile holds it."""
        self.supported = supported
        self.max_per_message = max_per_message
        self.calls: list[list[Any]] = []
        self.violations: list[str] = []
        self.next_answers: dict[str, list[dict[str, Any]]] = {}
        """Answers to give instead of the pile's own, per action, first in first out."""
        self._pending: dict[str, asyncio.Future[list[Any]]] = {}
        self._ids = 0
        self._reader: asyncio.Task[None] | None = None

    @classmethod
    async def connect(cls, url: str, **options: Any) -> ListKeepingPile:
        pile = cls(await StrictChargePoint.connect(url), **options)
        pile._reader = asyncio.create_task(pile._read())
        return pile

    async def close(self) -> None:
        if self._reader is not None:
            self._reader.cancel()
        await self.client.close()

    async def call(self, action: str, payload: dict[str, Any]) -> dict[str, Any]:
        errors = list(_validator(action).iter_errors(payload))
        if errors:
            raise SchemaViolation(f"test sent an invalid {action}: {errors[0].message}")
        self._ids += 1
        unique_id = f"p{self._ids}"
        answer: asyncio.Future[list[Any]] = asyncio.get_running_loop().create_future()
        self._pending[unique_id] = answer
        await self.client.ws.send(json.dumps([2, unique_id, action, payload]))
        frame = await asyncio.wait_for(answer, 5)
        if frame[0] == 4:
            raise CallErrorReceived(frame)
        errors = list(_validator(f"{action}Response").iter_errors(frame[2]))
        if errors:
            raise SchemaViolation(f"server answered {action} invalidly: {errors[0].message}")
        return frame[2]  # type: ignore[no-any-return]

    async def boot(self) -> dict[str, Any]:
        return await self.call(
            "BootNotification", {"chargePointVendor": "TestVendor", "chargePointModel": "AC7", "firmwareVersion": "2.1"}
        )

    async def authorize(self, id_tag: str) -> str:
        return (await self.call("Authorize", {"idTag": id_tag}))["idTagInfo"]["status"]  # type: ignore[no-any-return]

    def calls_of(self, action: str) -> list[dict[str, Any]]:
        return [frame[3] for frame in self.calls if frame[2] == action]

    def statuses(self) -> dict[str, str]:
        return {tag: info["status"] for tag, info in self.entries.items()}

    async def wait_until(self, condition: Callable[[], bool], timeout: float = 5) -> None:
        deadline = asyncio.get_running_loop().time() + timeout
        while not condition():
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"timed out; calls so far: {[f[2] for f in self.calls]}")
            await asyncio.sleep(0.02)

    # -- the pile's side ---------------------------------------------------------------------------------

    async def _read(self) -> None:
        while True:
            frame = json.loads(await self.client.ws.recv())
            if frame[0] != 2:
                pending = self._pending.pop(frame[1], None)
                if pending is not None:
                    pending.set_result(frame)
                continue
            action, payload = frame[2], frame[3]
            errors = list(_validator(action).iter_errors(payload))
            if errors:
                self.violations.append(f"server sent an invalid {action}: {errors[0].message}")
            self.calls.append(frame)
            queued = self.next_answers.get(action)
            answer = queued.pop(0) if queued else self._answer(action, payload)
            errors = list(_validator(f"{action}Response").iter_errors(answer))
            if errors:
                self.violations.append(f"the test pile answered {action} invalidly: {errors[0].message}")
            await self.client.ws.send(json.dumps([3, frame[1], answer]))

    def _answer(self, action: str, payload: dict[str, Any]) -> dict[str, Any]:
        if action == "GetLocalListVersion":
            return {"listVersion": self.version if self.supported else -1}
        if action != "SendLocalList":
            return {"status": "Accepted"}
        if not self.supported:
            return {"status": "NotSupported"}
        entries = payload.get("localAuthorizationList", [])
        if self.max_per_message is not None and len(entries) > self.max_per_message:
            return {"status": "Failed"}
        if payload["updateType"] == "Full":
            if any("idTagInfo" not in e for e in entries):  # 1.6: a full list gives every tag its info
                self.violations.append("a full local list without idTagInfo")
                return {"status": "Failed"}
            self.entries = {e["idTag"]: e["idTagInfo"] for e in entries}
        else:
            if payload["listVersion"] <= self.version:
                return {"status": "VersionMismatch"}
            for entry in entries:
                if "idTagInfo" in entry:
                    self.entries[entry["idTag"]] = entry["idTagInfo"]
                else:
                    self.entries.pop(entry["idTag"], None)
        self.version = payload["listVersion"]
        return {"status": "Accepted"}
