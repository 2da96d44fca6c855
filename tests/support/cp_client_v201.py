"""A strict OCPP 2.0.1 charging station for tests, independent of the server's code.

The same raw-frame client as the 1.6 one (``cp_client``), speaking ``ocpp2.0.1`` and validating both
directions against the official 2.0.1 JSON schemas shipped in the ``ocpp`` package (draft-06, with
dateTime formats checked), plus conveniences for 2.0.1's messages.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import ocpp
from jsonschema import Draft6Validator
from jsonschema.protocols import Validator

from tests.support.cp_client import StrictChargePoint, _validator, now

SCHEMAS_V201 = Path(ocpp.__file__).parent / "v201" / "schemas"

__all__ = ["StrictChargingStation", "now", "sampled_values"]


def sampled_values(
    *,
    energy_wh: float | None = None,
    power_w: float | None = None,
    current_a: float | None = None,
    voltage_v: float | None = None,
    soc: float | None = None,
    context: str | None = None,
) -> list[dict[str, Any]]:
    """SampledValueType list of the common measurands (units given explicitly, as piles usually do)."""
    values: list[dict[str, Any]] = []
    for measurand, value, unit, location in (
        ("Energy.Active.Import.Register", energy_wh, "Wh", None),
        ("Power.Active.Import", power_w, "W", None),
        ("Current.Import", current_a, "A", None),
        ("Voltage", voltage_v, "V", None),
        ("SoC", soc, "Percent", "EV"),
    ):
        if value is None:
            continue
        item: dict[str, Any] = {"value": value, "measurand": measurand, "unitOfMeasure": {"unit": unit}}
        if location:
            item["location"] = location
        if context:
            item["context"] = context
        values.append(item)
    return values


class StrictChargingStation(StrictChargePoint):
    subprotocol = "ocpp2.0.1"
    request_suffix = "Request"

    def validator(self, name: str) -> Validator:
        return _validator(name, SCHEMAS_V201, Draft6Validator)

    # -- conveniences --------------------------------------------------------------------------------

    async def boot(self, reason: str = "PowerUp") -> dict[str, Any]:  # type: ignore[override]
        return await self.call("BootNotification", {
            "reason": reason,
            "chargingStation": {"vendorName": "TestVendor", "model": "DC120-2", "serialNumber": "SN-201",
                                "firmwareVersion": "2.0.1-a", "modem": {"iccid": "8986001", "imsi": "460001"}},
        })

    async def status(self, evse_id: int, status: str, connector_id: int = 1) -> None:  # type: ignore[override]
        await self.call("StatusNotification", {
            "timestamp": now(), "connectorStatus": status, "evseId": evse_id, "connectorId": connector_id,
        })

    async def authorize(self, token: str, kind: str = "ISO14443", **extra: Any) -> dict[str, Any]:
        return await self.call("Authorize", {"idToken": {"idToken": token, "type": kind, **extra}})

    async def transaction(
        self,
        event_type: str,
        transaction_id: str,
        seq_no: int,
        trigger: str,
        *,
        charging_state: str | None = None,
        evse: int | None = None,
        connector: int | None = None,
        id_token: dict[str, Any] | None = None,
        meter: list[dict[str, Any]] | None = None,
        stopped_reason: str | None = None,
        offline: bool = False,
        timestamp: str | None = None,
        remote_start_id: int | None = None,
    ) -> dict[str, Any]:
        """A TransactionEvent; ``meter`` is a list of MeterValueType objects."""
        info: dict[str, Any] = {"transactionId": transaction_id}
        if charging_state:
            info["chargingState"] = charging_state
        if stopped_reason:
            info["stoppedReason"] = stopped_reason
        if remote_start_id is not None:
            info["remoteStartId"] = remote_start_id
        payload: dict[str, Any] = {
            "eventType": event_type, "timestamp": timestamp or now(), "triggerReason": trigger, "seqNo": seq_no,
            "transactionInfo": info,
        }
        if offline:
            payload["offline"] = True
        if evse is not None:
            payload["evse"] = {"id": evse} if connector is None else {"id": evse, "connectorId": connector}
        if id_token is not None:
            payload["idToken"] = id_token
        if meter:
            payload["meterValue"] = meter
        return await self.call("TransactionEvent", payload)

