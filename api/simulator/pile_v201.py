"""One simulated pile speaking OCPP 2.0.1: the same life as the 1.6 pile (``pile``), in 2.0.1's messages.

What differs from 1.6, as a 2.0.1 charging station does it:

- The pile names its transactions (a string id) and tells a whole session by TransactionEvent: Started (with
  the register as a Transaction.Begin sample), Updated when the charging state changes and every sample
  interval (MeterValuePeriodic, SoC included on DC), Ended with ``stoppedReason`` and a Transaction.End sample.
  Every event carries its ``seqNo``.
- Connectors are (EVSE n, connector 1), which the server numbers n; statuses are 2.0.1's (Occupied while a
  car is plugged in); there is no status of connector 0.
- A VIN read from the car is sent as the token of type ``Local`` (2.0.1 has no VIN token type), as the
  server's handlers expect; GB/T BMS messages go by DataTransfer with the pile's transaction id.
- It answers the server's calls: RequestStart/StopTransaction, ChangeAvailability, Reset, UnlockConnector,
  Get/SetVariables (its configuration, as ``Component.Variable``), GetBaseReport (NotifyReport in parts),
  SendLocalList / GetLocalListVersion, ClearCache and TriggerMessage; reservations are refused.
"""

from __future__ import annotations

import asyncio
import itertools
from dataclasses import dataclass
from typing import Any

from ocpp.routing import after, on
from ocpp.v16.enums import ChargePointStatus, Reason
from ocpp.v201 import ChargePoint, call, call_result
from ocpp.v201.enums import Action
from websockets.asyncio.client import ClientConnection

from api.simulator.curves import ChargeState, random_plan, random_vehicle
from api.simulator.pile import VENDOR_ID, ConnectorState, SimulatedPile, Transaction, iso, utc_now

STATUS = {
    ChargePointStatus.available: "Available",
    ChargePointStatus.preparing: "Occupied",
    ChargePointStatus.charging: "Occupied",
    ChargePointStatus.suspended_ev: "Occupied",
    ChargePointStatus.suspended_evse: "Occupied",
    ChargePointStatus.finishing: "Occupied",
    ChargePointStatus.reserved: "Reserved",
    ChargePointStatus.unavailable: "Unavailable",
    ChargePointStatus.faulted: "Faulted",
}
"""1.6 connector statuses (the shared session loop's words) as 2.0.1 connectorStatus."""

TRIGGER = {
    Reason.local: "StopAuthorized",
    Reason.remote: "RemoteStop",
    Reason.ev_disconnected: "EVDeparted",
    Reason.de_authorized: "Deauthorized",
}
"""The triggerReason of an Ended event by why it ended (anything else: AbnormalCondition)."""

STOPPED = {
    Reason.soft_reset: "Reboot",
    Reason.reboot: "Reboot",
    Reason.hard_reset: "ImmediateReset",
    Reason.unlock_command: "Other",
}
"""1.6 stop reasons that 2.0.1 names otherwise (the others are the same words)."""


@dataclass
class TransactionV201(Transaction):
    seq_no: int = 0
    remote_start_id: int | None = None

    def next_seq(self) -> int:
        seq, self.seq_no = self.seq_no, self.seq_no + 1
        return seq


class SimulatedChargingStation(ChargePoint):  # type: ignore[misc]
    """The ``ocpp`` library's 2.0.1 charge point with the handlers a real station has for the server's calls."""

    def __init__(self, pile: SimulatedPileV201, connection: ClientConnection) -> None:
        super().__init__(pile.spec.id, connection, response_timeout=30)
        self.pile = pile

    @on(Action.request_start_transaction)
    def on_request_start(self, id_token: dict[str, Any], remote_start_id: int, evse_id: int | None = None,
                         **_: Any) -> Any:
        connector = self.pile.free_connector(evse_id)
        if connector is None:
            return call_result.RequestStartTransaction(status="Rejected")
        self.pile.remote_start_ids[connector.number] = remote_start_id
        connector.remote_start.put_nowait(id_token["id_token"])
        return call_result.RequestStartTransaction(status="Accepted")

    @on(Action.request_stop_transaction)
    def on_request_stop(self, transaction_id: str, **_: Any) -> Any:
        for connector in self.pile.connectors:
            tx = connector.transaction
            if tx is not None and tx.id == transaction_id:
                tx.stop_reason = Reason.remote
                tx.stop_requested.set()
                return call_result.RequestStopTransaction(status="Accepted")
        return call_result.RequestStopTransaction(status="Rejected")

    @on(Action.change_availability)
    def on_change_availability(self, operational_status: str, evse: dict[str, Any] | None = None, **_: Any) -> Any:
        number = evse["id"] if evse else 0
        targets = self.pile.connectors if number == 0 else self.pile.connectors[number - 1 : number]
        if not targets:
            return call_result.ChangeAvailability(status="Rejected")
        operative = operational_status == "Operative"
        busy = False
        for connector in targets:
            connector.available = operative
            busy = busy or connector.transaction is not None
        return call_result.ChangeAvailability(status="Scheduled" if busy and not operative else "Accepted")

    @on(Action.reset)
    def on_reset(self, type: str, **_: Any) -> Any:
        self.pile.request_reset()
        return call_result.Reset(status="Accepted")

    @on(Action.unlock_connector)
    def on_unlock(self, evse_id: int, connector_id: int, **_: Any) -> Any:
        if not 1 <= evse_id <= len(self.pile.connectors) or connector_id != 1:
            return call_result.UnlockConnector(status="UnknownConnector")
        return call_result.UnlockConnector(status="Unlocked")

    @on(Action.get_variables)
    def on_get_variables(self, get_variable_data: list[dict[str, Any]], **_: Any) -> Any:
        results = []
        for item in get_variable_data:
            key = _key(item)
            value = self.pile.variables.get(key)
            result = {"attribute_status": "Accepted" if value is not None else "UnknownVariable",
                      "component": item["component"], "variable": item["variable"]}
            if value is not None:
                result["attribute_value"] = value
            results.append(result)
        return call_result.GetVariables(get_variable_result=results)

    @on(Action.set_variables)
    def on_set_variables(self, set_variable_data: list[dict[str, Any]], **_: Any) -> Any:
        results = []
        for item in set_variable_data:
            key = _key(item)
            known = key in self.pile.variables and key not in self.pile.read_only
            if known:
                self.pile.variables[key] = item["attribute_value"]
            results.append({"attribute_status": "Accepted" if known else "Rejected",
                            "component": item["component"], "variable": item["variable"]})
        return call_result.SetVariables(set_variable_result=results)

    @on(Action.get_base_report)
    def on_get_base_report(self, request_id: int, report_base: str, **_: Any) -> Any:
        return call_result.GetBaseReport(status="Accepted" if report_base != "SummaryInventory" else "NotSupported")

    @after(Action.get_base_report)
    async def after_get_base_report(self, request_id: int, report_base: str, **_: Any) -> None:
        if report_base != "SummaryInventory":
            await self.pile.report(request_id)

    @on(Action.send_local_list)
    def on_send_local_list(self, version_number: int, update_type: str, **_: Any) -> Any:
        if update_type == "Differential" and version_number <= self.pile.local_list_version:
            return call_result.SendLocalList(status="VersionMismatch")
        self.pile.local_list_version = version_number
        return call_result.SendLocalList(status="Accepted")

    @on(Action.get_local_list_version)
    def on_get_local_list_version(self, **_: Any) -> Any:
        return call_result.GetLocalListVersion(version_number=self.pile.local_list_version)

    @on(Action.clear_cache)
    def on_clear_cache(self, **_: Any) -> Any:
        return call_result.ClearCache(status="Accepted")

    @on(Action.reserve_now)
    def on_reserve_now(self, **_: Any) -> Any:
        return call_result.ReserveNow(status="Rejected")

    @on(Action.cancel_reservation)
    def on_cancel_reservation(self, **_: Any) -> Any:
        return call_result.CancelReservation(status="Rejected")

    @on(Action.trigger_message)
    def on_trigger_message(self, requested_message: str, **_: Any) -> Any:
        supported = {"Heartbeat", "StatusNotification", "BootNotification"}
        return call_result.TriggerMessage(status="Accepted" if requested_message in supported else "NotImplemented")

    @after(Action.trigger_message)
    async def after_trigger_message(self, requested_message: str, evse: dict[str, Any] | None = None,
                                    **_: Any) -> None:
        if requested_message == "Heartbeat":
            await self.pile.heartbeat()
        elif requested_message == "BootNotification":
            await self.pile.boot()
        elif requested_message == "StatusNotification":
            for connector in self.pile.connectors:
                if evse is None or evse.get("id") == connector.number:
                    await self.pile.status(connector.number, self.pile.status_of(connector))


def _key(item: dict[str, Any]) -> str:
    return f"{item['component']['name']}.{item['variable']['name']}"


class SimulatedPileV201(SimulatedPile):
    subprotocol = "ocpp2.0.1"
    REPORT_PART = 4
    """Variables per NotifyReport part (small, so a report comes in several parts, as long ones do)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.variables = {
            "OCPPCommCtrlr.HeartbeatInterval": "300",
            "SampledDataCtrlr.TxUpdatedInterval": str(int(self.timing.sample_interval_s)),
            "SampledDataCtrlr.TxUpdatedMeasurands": "Energy.Active.Import.Register,Power.Active.Import,"
                                                    "Current.Import,Voltage,SoC",
            "AuthCtrlr.AuthorizeRemoteStart": "false",
            "LocalAuthListCtrlr.Enabled": "true",
            "LocalAuthListCtrlr.Entries": "0",
            "LocalAuthListCtrlr.ItemsPerMessage": "50",
            "TxCtrlr.StopTxOnInvalidId": "true",
        }
        """The device model's variables, as ``Component.Variable``: their Actual values."""
        self.read_only = frozenset({"LocalAuthListCtrlr.Entries", "LocalAuthListCtrlr.ItemsPerMessage"})
        self.list_capacity = 500
        self.local_list_version = 0
        self.remote_start_ids: dict[int, int] = {}
        self._transaction_ids = itertools.count(1)

    def charge_point(self, ws: ClientConnection) -> Any:
        return SimulatedChargingStation(self, ws)

    # --- calls ---------------------------------------------------------------------------------------------

    async def heartbeat(self) -> None:
        await self.send(call.Heartbeat())

    async def boot(self) -> bool:
        answer = await self.send(call.BootNotification(
            charging_station={
                "vendor_name": "ChargeOps Sim",
                "model": f"SIM-{'DC' if self.spec.dc else 'AC'}{self.spec.max_power_w // 1000}",
                "serial_number": f"SN{self.spec.number:08d}",
                "firmware_version": "2.0.1-sim",
            },
            reason="PowerUp",
        ))
        if answer is None:
            return False
        self._heartbeat_s = float(answer.interval or 300)
        return bool(answer.status == "Accepted")

    async def status(self, connector: int, status: ChargePointStatus) -> None:
        if connector == 0:  # 2.0.1 reports connectors only
            return
        await self.send(call.StatusNotification(
            timestamp=iso(utc_now()), connector_status=STATUS[status], evse_id=connector, connector_id=1,
        ))

    async def bms(self, connector: ConnectorState, message: str, **data: Any) -> None:
        body: dict[str, Any] = {"evseId": connector.number, "connectorId": 1, "timestamp": iso(utc_now()), **data}
        if connector.transaction is not None:
            body["transactionId"] = connector.transaction.id
        await self.send(call.DataTransfer(vendor_id=VENDOR_ID, message_id=message, data=body))

    async def report(self, request_id: int) -> None:
        """The device model as NotifyReport parts (``tbc`` on all but the last)."""
        items = [self._report_item(key, value) for key, value in self.variables.items()]
        parts = [items[i : i + self.REPORT_PART] for i in range(0, len(items), self.REPORT_PART)]
        for seq_no, part in enumerate(parts):
            await self.send(call.NotifyReport(
                request_id=request_id, generated_at=iso(utc_now()), seq_no=seq_no, report_data=part,
                tbc=seq_no < len(parts) - 1,
            ))

    def _report_item(self, key: str, value: str) -> dict[str, Any]:
        component, name = key.split(".", 1)
        mutability = "ReadOnly" if key in self.read_only else "ReadWrite"
        characteristics: dict[str, Any] = {"data_type": "string", "supports_monitoring": False}
        if key == "LocalAuthListCtrlr.Entries":
            characteristics = {"data_type": "integer", "supports_monitoring": False, "max_limit": self.list_capacity}
        return {"component": {"name": component}, "variable": {"name": name},
                "variable_attribute": [{"type": "Actual", "value": value, "mutability": mutability}],
                "variable_characteristics": characteristics}

    def _token(self, id_tag: str) -> dict[str, str]:
        kind = "Local" if id_tag in self.vins else "ISO14443"
        return {"id_token": id_tag, "type": kind}

    async def _event(self, connector: ConnectorState, event_type: str, trigger: str, *,
                     charging_state: str | None = None, sampled: list[dict[str, Any]] | None = None,
                     stopped_reason: str | None = None, with_token: bool = False) -> Any:
        tx = connector.transaction
        assert isinstance(tx, TransactionV201)
        info: dict[str, Any] = {"transaction_id": tx.id}
        if charging_state is not None:
            info["charging_state"] = charging_state
        if stopped_reason is not None:
            info["stopped_reason"] = stopped_reason
        if tx.remote_start_id is not None and event_type == "Started":
            info["remote_start_id"] = tx.remote_start_id
        at = connector.timestamp()
        return await self.send(call.TransactionEvent(
            event_type=event_type, timestamp=iso(at), trigger_reason=trigger, seq_no=tx.next_seq(),
            transaction_info=info,
            meter_value=[{"timestamp": iso(at), "sampled_value": sampled}] if sampled else None,
            evse={"id": connector.number, "connector_id": 1},
            id_token=self._token(tx.id_tag) if with_token else None,
        ))

    # --- one session ---------------------------------------------------------------------------------------

    async def _session(self, connector: ConnectorState, remote_id_tag: str | None) -> None:
        vin = self.rng.choice(self.vins)
        plan = random_plan(self.rng, random_vehicle(self.rng, vin))
        id_tag = remote_id_tag or (vin if self.spec.dc and self.rng.random() < 0.5 else self.rng.choice(self.id_tags))
        dc = self.spec.dc

        await self.status(connector.number, ChargePointStatus.preparing)  # plugged in: Occupied
        if remote_id_tag is None:
            answer = await self.send(call.Authorize(id_token=self._token(id_tag)))
            if answer is None or answer.id_token_info["status"] != "Accepted":
                self.counters.sessions_refused += 1
                await self.status(connector.number, ChargePointStatus.available)
                return
        tx_id = f"{self.spec.id}-{next(self._transaction_ids)}-{self.rng.randrange(1 << 30):08x}"
        connector.transaction = TransactionV201(
            tx_id, id_tag, connector.register_wh, remote_start_id=self.remote_start_ids.pop(connector.number, None)
        )
        begin = self._sampled_v201(connector, None, dc=dc, context="Transaction.Begin")
        started = await self._event(connector, "Started", "RemoteStart" if remote_id_tag else "Authorized",
                                    charging_state="EVConnected", sampled=begin, with_token=True)
        if started is None:
            self.counters.sessions_refused += 1
            connector.transaction = None
            await self.status(connector.number, ChargePointStatus.available)
            return
        if (started.id_token_info or {}).get("status", "Accepted") != "Accepted":
            # TxCtrlr.StopTxOnInvalidId: the station ends a transaction the server did not accept
            self.counters.sessions_refused += 1
            await self._finish(connector, Reason.de_authorized)
            await self.status(connector.number, ChargePointStatus.available)
            return
        self.counters.sessions_started += 1
        state = ChargeState(soc=plan.soc_start, temperature_c=self.rng.uniform(18, 30))
        if dc:
            await self._bms_handshake(connector, vin)
        await self._event(connector, "Updated", "ChargingStateChanged", charging_state="Charging")
        if dc:
            await self.bms(connector, "BCS")
        reason, state = await self._charge(connector, plan, state, dc=dc)
        if dc:
            await self.bms(connector, "BST")
        await self._sleep(10)
        await self._finish(connector, reason, state=state)
        await self.status(connector.number, ChargePointStatus.available)
        self.counters.sessions_completed += 1

    def _sampled_v201(
        self, connector: ConnectorState, state: ChargeState | None, *, dc: bool, context: str
    ) -> list[dict[str, Any]]:
        """2.0.1 SampledValueType: numbers, with the unit in unitOfMeasure."""
        values: list[dict[str, Any]] = [
            {"value": connector.register_wh, "context": context, "measurand": "Energy.Active.Import.Register",
             "unit_of_measure": {"unit": "Wh"}},
        ]
        if state is None:
            return values
        values.append({"value": int(state.power_w), "context": context, "measurand": "Power.Active.Import",
                       "unit_of_measure": {"unit": "W"}})
        values.append({"value": round(state.current_a, 1), "context": context, "measurand": "Current.Import",
                       "unit_of_measure": {"unit": "A"}})
        values.append({"value": round(state.voltage_v, 1), "context": context, "measurand": "Voltage",
                       "unit_of_measure": {"unit": "V"}})
        if dc:  # the car's SoC, from the BMS; an AC pile does not know it
            values.append({"value": int(state.soc * 100), "context": context, "measurand": "SoC",
                           "location": "EV", "unit_of_measure": {"unit": "Percent"}})
        return values

    async def _meter_values(self, connector: ConnectorState, state: ChargeState, *, dc: bool) -> None:
        sampled = self._sampled_v201(connector, state, dc=dc, context="Sample.Periodic")
        loop = asyncio.get_running_loop()
        began = loop.time()
        answer = await self._event(connector, "Updated", "MeterValuePeriodic", sampled=sampled)
        if answer is not None:
            self.counters.latency(loop.time() - began)
            self.counters.meter_values_sent += 1
            self.counters.samples_sent += 1
            self.counters.values_sent += len(sampled)

    async def _finish(self, connector: ConnectorState, reason: Reason, state: ChargeState | None = None) -> None:
        if connector.transaction is None:
            return
        sampled = self._sampled_v201(connector, state, dc=self.spec.dc, context="Transaction.End")
        gone = reason == Reason.ev_disconnected
        await self._event(
            connector, "Ended", TRIGGER.get(reason, "AbnormalCondition"), sampled=sampled,
            charging_state="Idle" if gone else "EVConnected", stopped_reason=STOPPED.get(reason, str(reason.value)),
        )
        connector.transaction = None

