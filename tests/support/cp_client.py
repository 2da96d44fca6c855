"""A strict OCPP 1.6J charge point for tests, independent of the server's code.

It speaks raw OCPP-J frames over the ``websockets`` client and validates both directions against the
official OCPP 1.6 JSON schemas (the files shipped in the ``ocpp`` package), with dateTime formats
checked: a request we send must be valid, and a CALLRESULT the server sends must be valid, or the test fails.
"""

from __future__ import annotations

import asyncio
import itertools
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import ocpp
from jsonschema import Draft4Validator, FormatChecker
from jsonschema.protocols import Validator
from websockets.asyncio.client import ClientConnection, connect

SCHEMAS = Path(ocpp.__file__).parent / "v16" / "schemas"
_checker = FormatChecker(formats=())


@_checker.checks("date-time", raises=ValueError)
def _datetime(value: object) -> bool:
    if not isinstance(value, str):
        return True
    text = value[:-1] + "+00:00" if value.endswith("Z") else value
    if "T" not in text or datetime.fromisoformat(text).tzinfo is None:
        raise ValueError(f"{value!r} is not an RFC 3339 date-time with offset")
    return True


def _validator(name: str, folder: Path = SCHEMAS, draft: type[Validator] = Draft4Validator) -> Validator:
    schema = json.loads((folder / f"{name}.json").read_text(encoding="utf-8-sig"))
    schema.pop("$schema", None)
    return draft(schema, format_checker=_checker)


class SchemaViolation(AssertionError):
    pass


class CallErrorReceived(Exception):
    def __init__(self, frame: list[Any]) -> None:
        super().__init__(f"{frame[2]}: {frame[3]}")
        self.frame = frame
        self.code: str = frame[2]
        self.description: str = frame[3]


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class StrictChargePoint:
    subprotocol = "ocpp1.6"
    request_suffix = ""
    """1.6 names request schemas ``<Action>.json``; 2.0.1 ``<Action>Request.json``."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self._ids = itertools.count(1)
        self.server_calls: asyncio.Queue[list[Any]] = asyncio.Queue()

    @classmethod
    async def connect(cls, url: str, subprotocols: list[str] | None = None) -> StrictChargePoint:
        ws = await connect(url, subprotocols=subprotocols or [cls.subprotocol], open_timeout=5)  # type: ignore[list-item]
        return cls(ws)

    def validator(self, name: str) -> Validator:
        """The official schema of ``name`` (an action's request, or ``<Action>Response``)."""
        return _validator(name)

    def request_validator(self, action: str) -> Validator:
        return self.validator(f"{action}{self.request_suffix}")

    async def close(self) -> None:
        await self.ws.close()

    async def call(self, action: str, payload: dict[str, Any], *, validate_request: bool = True) -> dict[str, Any]:
        if validate_request:
            errors = list(self.request_validator(action).iter_errors(payload))
            if errors:
                raise SchemaViolation(f"test sent an invalid {action}: {errors[0].message}")
        unique_id = f"t{next(self._ids)}"
        await self.ws.send(json.dumps([2, unique_id, action, payload]))
        frame = await self.reply_to(unique_id)
        if frame[0] == 4:
            raise CallErrorReceived(frame)
        errors = list(self.validator(f"{action}Response").iter_errors(frame[2]))
        if errors:
            raise SchemaViolation(f"server sent an invalid {action} CALLRESULT {frame[2]}: {errors[0].message}")
        return frame[2]  # type: ignore[no-any-return]

    async def send_raw(self, text: str | bytes) -> None:
        await self.ws.send(text)

    async def next_frame(self, timeout: float = 5) -> list[Any]:
        raw = await asyncio.wait_for(self.ws.recv(), timeout)
        frame = json.loads(raw)
        assert isinstance(frame, list), f"server sent a non-array frame {raw!r}"
        return frame

    async def reply_to(self, unique_id: str, timeout: float = 5) -> list[Any]:
        while True:
            frame = await self.next_frame(timeout)
            if frame[0] == 2:
                await self.server_calls.put(frame)
                continue
            assert frame[1] == unique_id, f"expected an answer to {unique_id}, got {frame}"
            if frame[0] == 4:
                assert len(frame) == 5 and isinstance(frame[4], dict), f"malformed CALLERROR {frame}"
            return frame

    # -- calls from the server ---------------------------------------------------------------------------

    async def expect_call(self, action: str, timeout: float = 5) -> list[Any]:
        """The next CALL from the server, which must be ``action`` with a payload valid by the official schema."""
        frame = self.server_calls.get_nowait() if not self.server_calls.empty() else await self.next_frame(timeout)
        assert frame[0] == 2 and len(frame) == 4, f"expected a CALL, got {frame}"
        assert frame[2] == action, f"expected {action}, got {frame}"
        errors = list(self.request_validator(action).iter_errors(frame[3]))
        if errors:
            raise SchemaViolation(f"server sent an invalid {action} CALL {frame[3]}: {errors[0].message}")
        return frame

    async def answer(self, frame: list[Any], payload: dict[str, Any], *, validate: bool = True) -> None:
        if validate:
            errors = list(self.validator(f"{frame[2]}Response").iter_errors(payload))
            if errors:
                raise SchemaViolation(f"test answered {frame[2]} invalidly: {errors[0].message}")
        await self.ws.send(json.dumps([3, frame[1], payload]))

    async def answer_error(self, frame: list[Any], code: str, description: str = "") -> None:
        await self.ws.send(json.dumps([4, frame[1], code, description, {}]))

    # -- conveniences for whole sessions ---------------------------------------------------------------

    async def boot(self) -> dict[str, Any]:
        return await self.call(
            "BootNotification",
            {"chargePointVendor": "TestVendor", "chargePointModel": "DC120", "firmwareVersion": "1.0.0",
             "chargePointSerialNumber": "SN-1"},
        )

    async def status(self, connector_id: int, status: str, error_code: str = "NoError") -> None:
        await self.call(
            "StatusNotification",
            {"connectorId": connector_id, "errorCode": error_code, "status": status, "timestamp": now()},
        )

    async def start(self, connector_id: int, id_tag: str, meter_start: int) -> dict[str, Any]:
        return await self.call(
            "StartTransaction",
            {"connectorId": connector_id, "idTag": id_tag, "meterStart": meter_start, "timestamp": now()},
        )

    async def meter(
        self,
        connector_id: int,
        transaction_id: int | None,
        *,
        energy_wh: int,
        power_w: int,
        current_a: str = "100.0",
        voltage_v: str = "500.0",
        soc: int | None = None,
        timestamp: str | None = None,
    ) -> None:
        sampled = [
            {"value": str(energy_wh), "measurand": "Energy.Active.Import.Register", "unit": "Wh"},
            {"value": str(power_w), "measurand": "Power.Active.Import", "unit": "W"},
            {"value": current_a, "measurand": "Current.Import", "unit": "A"},
            {"value": voltage_v, "measurand": "Voltage", "unit": "V"},
        ]
        if soc is not None:
            sampled.append({"value": str(soc), "measurand": "SoC", "unit": "Percent", "location": "EV"})
        payload: dict[str, Any] = {
            "connectorId": connector_id,
            "meterValue": [{"timestamp": timestamp or now(), "sampledValue": sampled}],
        }
        if transaction_id is not None:
            payload["transactionId"] = transaction_id
        await self.call("MeterValues", payload)

    async def stop(self, transaction_id: int, meter_stop: int, reason: str = "Local", **extra: Any) -> dict[str, Any]:
        return await self.call(
            "StopTransaction",
            {"transactionId": transaction_id, "meterStop": meter_stop, "timestamp": now(), "reason": reason, **extra},
        )
