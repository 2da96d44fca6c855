"""OCPP 2.0.1: one ``@on`` handler per action a pile sends. Each maps, calls the domain, maps back.

As with 1.6, everything a pile reports is stored before the handler returns (DESIGN §4). What differs:

- Transactions are the pile's (TransactionEvent Started / Updated / Ended, with a string id and a seqNo).
  Whichever report of a transaction reaches us first opens its session; the others (late ones sent
  ``offline``, ones after a gap in seqNo, retransmissions) merge into it, so nothing is duplicated. An
  Ended closes it with ``stoppedReason`` (``Local`` when the pile gives none, as 2.0.1 means).
- Id tokens: the token's value is the id tag, whatever its type (ISO14443, ISO15693, KeyCode, Local,
  Central, eMAID, MacAddress); NoAuthorization is the empty id tag, which the platform does not accept.
  A VIN is not a 2.0.1 token type (2.1 adds one): a pile that reads the car's VIN sends it as the token's
  value (type ``Local``: an id the station generated) and is treated as 1.6's VIN id tag, or beside a
  card in ``additionalInfo`` with type ``VIN``, which records the car on the session.
- Statuses and DC phases come from StatusNotification and the transaction's ``chargingState``
  (``mapping`` has the table). GB/T BMS messages by DataTransfer work as with 1.6.
- Firmware and log (diagnostics) status, security events, device-model events and reservation updates
  are kept as the pile's events; firmware and log statuses in 1.6's words, with the pile's own word beside.
- A base report (GetBaseReport) comes back in NotifyReport parts (``seqNo`` from 0, ``tbc`` while more
  follow). Each part is stored as it arrives (the first replaces the pile's reported configuration, the
  others add to it), so an interrupted report leaves what arrived; the command waits for the last part.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
from datetime import datetime
from typing import Any

from ocpp.charge_point import snake_to_camel_case
from ocpp.routing import on
from ocpp.v201 import call, call_result
from ocpp.v201.enums import Action

from api.charge_point.dto import BootInfo, StatusReport
from api.charging.dto import PileTransactionReport, PileTransactionStage, VehicleReport
from api.commands.dto import Command, CommandResult, ConfigurationKey, GetBaseReport, Outcome, RemoteStop
from api.models.enums import ConnectorStatus, RegistrationStatus
from api.ocpp.connection import OcppConnection
from api.ocpp.schemas import V201, load
from api.ocpp.v16.handlers import VEHICLE_MESSAGES
from api.ocpp.v201 import commands, mapping

log = logging.getLogger(__name__)

STAGE = {"Started": PileTransactionStage.STARTED, "Updated": PileTransactionStage.UPDATED,
         "Ended": PileTransactionStage.ENDED}
EV_GONE = frozenset({"EVDeparted"})
"""Trigger reasons after which no car is plugged in (an ended transaction's connector is Available)."""


class ChargePointV201(OcppConnection):
    dialect = V201
    # what the ocpp library's call() needs to validate our CALLs and build the answers' dataclasses
    _ocpp_version = "2.0.1"
    _call = call
    _call_result = call_result
    schemas = load(V201)
    pile_actions = frozenset(
        {
            Action.boot_notification,
            Action.heartbeat,
            Action.status_notification,
            Action.authorize,
            Action.transaction_event,
            Action.meter_values,
            Action.notify_event,
            Action.security_event_notification,
            Action.firmware_status_notification,
            Action.log_status_notification,
            Action.reservation_status_update,
            Action.data_transfer,
            Action.notify_report,
        }
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._last_seq: dict[str, int] = {}
        """seqNo last seen per transaction on this socket, to log gaps (nothing depends on it)."""
        self._reports: dict[int, asyncio.Future[list[dict[str, Any]]]] = {}
        """Base reports asked for on this socket, by requestId: done with the whole report at its last part."""
        self._report_parts: dict[int, list[dict[str, Any]]] = {}
        self._report_of: dict[int, int] = {}
        """requestId of each GetBaseReport command being executed (by the command object's id)."""

    # -- commands -------------------------------------------------------------------------------------

    async def command_call(self, command: Command) -> Any:  # type: ignore[override]
        if isinstance(command, GetBaseReport):
            request = commands.to_call(command)
            # waiting before it is sent: the pile may report before we read its answer
            self._reports[request.request_id] = asyncio.get_running_loop().create_future()
            self._report_of[id(command)] = request.request_id
            return request
        if not isinstance(command, RemoteStop):
            return commands.to_call(command)
        session = await self.services.charging.find(command.transaction_id)
        if session is None or session.charge_point_id != self.id or not session.pile_transaction_id:
            return CommandResult(
                Outcome.REJECTED, message=f"session {command.transaction_id} is no OCPP 2.0.1 transaction of {self.id}"
            )
        return commands.to_call(command, session.pile_transaction_id)

    def command_outcome(self, command: Command, action: str, answer: Any) -> CommandResult:
        return commands.interpret(command, action, answer)

    async def execute(self, command: Command) -> CommandResult:
        """As for every command; a base report the pile accepted is also waited for (its NotifyReport parts, up
        to the response timeout), so the caller gets the keys as a GetConfiguration would give them."""
        if not isinstance(command, GetBaseReport):
            return await super().execute(command)
        try:
            result = await super().execute(command)
            report = self._reports.get(self._report_of.get(id(command), -1))
            if result.outcome != Outcome.ACCEPTED or report is None:
                return result
            try:
                entries = await asyncio.wait_for(asyncio.shield(report), self._response_timeout)
            except TimeoutError:
                return CommandResult(Outcome.ACCEPTED, result.status, "the report is still arriving; its parts are "
                                     "kept as they come")
            keys = tuple(ConfigurationKey(e["key"], e["value"], e["readonly"]) for e in entries)
            return CommandResult(Outcome.ACCEPTED, result.status, configuration=keys)
        finally:
            request_id = self._report_of.pop(id(command), None)
            if request_id is not None:
                self._reports.pop(request_id, None)
                self._report_parts.pop(request_id, None)

    # -- provisioning -------------------------------------------------------------------------------

    @on(Action.boot_notification)
    async def on_boot_notification(
        self, charging_station: dict[str, Any], reason: str, **kwargs: Any
    ) -> call_result.BootNotification:
        modem = charging_station.get("modem") or {}
        info = BootInfo(
            vendor=charging_station["vendor_name"],
            model=charging_station["model"],
            serial_number=charging_station.get("serial_number", ""),
            firmware_version=charging_station.get("firmware_version", ""),
            iccid=modem.get("iccid", ""),
            imsi=modem.get("imsi", ""),
        )
        result = await self.services.charge_points.boot(self.id, info)
        self.accepted = result.status == RegistrationStatus.ACCEPTED
        if self.accepted:  # locks and configuration operators set are sent again after every boot
            self.follow_up = lambda: self.services.operations.reapply(self.id)
        return call_result.BootNotification(
            current_time=mapping.utc(result.current_time),
            interval=result.interval_s,
            status=mapping.REGISTRATION[result.status],  # type: ignore[arg-type]
        )

    @on(Action.heartbeat)
    async def on_heartbeat(self, **kwargs: Any) -> call_result.Heartbeat:
        now = await self.services.charge_points.heartbeat(self.id)
        return call_result.Heartbeat(current_time=mapping.utc(now))

    @on(Action.status_notification)
    async def on_status_notification(
        self, timestamp: str, connector_status: str, evse_id: int, connector_id: int, call_unique_id: str,
        **kwargs: Any,
    ) -> call_result.StatusNotification:
        number = mapping.connector_no(evse_id, connector_id, call_unique_id)
        at = mapping.timestamp(timestamp, call_unique_id)
        status = mapping.STATUS[connector_status]
        if status == ConnectorStatus.PREPARING and number:
            current = await self._status_of(number)
            if current in mapping.IN_USE:
                status = current  # Occupied: keep what the transaction's charging state said
        await self._set_status(number, status, at)
        return call_result.StatusNotification()

    # -- authorization and transactions ---------------------------------------------------------------

    @on(Action.authorize)
    async def on_authorize(self, id_token: dict[str, Any], **kwargs: Any) -> call_result.Authorize:
        authorization = await self.services.charging.authorize(mapping.id_tag(id_token) or "", self.id)
        return call_result.Authorize(id_token_info=mapping.id_token_info(authorization))

    @on(Action.transaction_event)
    async def on_transaction_event(
        self, event_type: str, timestamp: str, trigger_reason: str, seq_no: int, transaction_info: dict[str, Any],
        call_unique_id: str, **kwargs: Any,
    ) -> call_result.TransactionEvent:
        at = mapping.timestamp(timestamp, call_unique_id)
        pile_tx = transaction_info["transaction_id"]
        self._note_seq(pile_tx, seq_no, event_type, bool(kwargs.get("offline")))
        number = mapping.evse_connector(kwargs.get("evse"), call_unique_id)
        readings = mapping.meter_readings(self.id, number or 0, None, kwargs.get("meter_value") or [], call_unique_id)
        first, last = mapping.register_bounds(readings)
        charging_state = transaction_info.get("charging_state")
        status, phase = mapping.CHARGING_STATE.get(charging_state, (None, None)) if charging_state else (None, None)
        id_token = kwargs.get("id_token")
        result = await self.services.charging.track(
            PileTransactionReport(
                charge_point_id=self.id,
                pile_transaction_id=pile_tx,
                stage=STAGE[event_type],
                at=at,
                connector_no=number,
                id_tag=mapping.id_tag(id_token),
                register_first_wh=first,
                register_last_wh=last,
                phase=phase,
                stop_reason=transaction_info.get("stopped_reason"),
                reservation_id=kwargs.get("reservation_id"),
                vin=mapping.vin_beside(id_token),
            )
        )
        connector = number
        if connector is None:  # the report names no EVSE: the session's connector
            connector = await self._connector_no((await self.services.charging.get(result.session_id)).connector_id)
        if readings:  # through the node's meter writer; back only once committed, so "Ended" below sees them
            await self.services.metering.submit(
                [dataclasses.replace(r, connector_no=connector, transaction_id=result.session_id) for r in readings]
            )
        ended = event_type == "Ended"
        if ended:
            await self.services.charging.end(
                self.id, pile_tx, last, at, transaction_info.get("stopped_reason") or "Local",
                mapping.id_tag(id_token) or None,
            )
            self._last_seq.pop(pile_tx, None)
            gone = charging_state == "Idle" or trigger_reason in EV_GONE or (
                transaction_info.get("stopped_reason") == "EVDisconnected")
            status = ConnectorStatus.AVAILABLE if gone else ConnectorStatus.FINISHING
        if status is not None and connector:
            await self._follow_charging_state(connector, status, at)
        return call_result.TransactionEvent(
            id_token_info=mapping.id_token_info(result.authorization) if result.authorization else None
        )

    @on(Action.meter_values)
    async def on_meter_values(
        self, evse_id: int, meter_value: list[dict[str, Any]], call_unique_id: str, **kwargs: Any
    ) -> call_result.MeterValues:
        number = mapping.connector_no(evse_id, None, call_unique_id)
        await self.services.metering.submit(mapping.meter_readings(self.id, number, None, meter_value, call_unique_id))
        return call_result.MeterValues()

    @on(Action.data_transfer)
    async def on_data_transfer(self, vendor_id: str, call_unique_id: str, **kwargs: Any) -> call_result.DataTransfer:
        """GB/T BMS messages (BRM, BCP, ... or VIN), as with 1.6; ``data`` is the JSON object itself or a string
        holding it: {"evseId"?, "connectorId"?, "transactionId"? (the pile's), "vin"?, "timestamp"?}."""
        message_id = kwargs.get("message_id") or ""
        raw = kwargs.get("data")
        await self.services.charge_points.record_event(
            self.id, "DataTransfer", {"vendorId": vendor_id, "messageId": message_id, "data": snake_to_camel_case(raw)}
        )
        if message_id.upper() not in VEHICLE_MESSAGES:
            return _data_transfer("UnknownMessageId")
        data = raw
        if isinstance(raw, str):
            try:
                data = json.loads(raw)
            except ValueError:
                data = None
        if raw is None:
            data = {}
        if not isinstance(data, dict):
            return _data_transfer("Rejected", "data must be a JSON object")
        # the library snake-cases keys of an object ``data`` but not of a string: accept both spellings
        evse_id = data.get("evseId", data.get("evse_id"))
        connector_id = data.get("connectorId", data.get("connector_id"))
        pile_tx = data.get("transactionId", data.get("transaction_id"))
        if not all(v is None or type(v) is int for v in (evse_id, connector_id)) or not (
            pile_tx is None or isinstance(pile_tx, str)
        ):
            return _data_transfer("Rejected", "evseId and connectorId are integers, transactionId a string")
        transaction_id = None
        if pile_tx is not None:
            session = await self.services.charging.find_pile_transaction(self.id, pile_tx)
            if session is None:
                return _data_transfer("Rejected", "no matching session")
            transaction_id = session.id
        number = mapping.connector_no(evse_id, connector_id, call_unique_id) if evse_id is not None else connector_id
        vin = data.get("vin") if isinstance(data.get("vin"), str) else None
        at = mapping.timestamp(data["timestamp"], call_unique_id) if isinstance(data.get("timestamp"), str) else None
        session_id = await self.services.charging.vehicle_report(
            VehicleReport(self.id, number, transaction_id, message_id.upper(), vin, at)
        )
        if session_id is None:
            return _data_transfer("Rejected", "no matching session")
        return _data_transfer("Accepted")

    # -- what a pile reports outside sessions ---------------------------------------------------------

    @on(Action.firmware_status_notification)
    async def on_firmware_status_notification(
        self, status: str, **kwargs: Any
    ) -> call_result.FirmwareStatusNotification:
        await self.services.charge_points.record_event(
            self.id, "FirmwareStatusNotification",
            {"status": mapping.FIRMWARE_STATUS.get(status, status), "ocppStatus": status,
             "requestId": kwargs.get("request_id")},
        )
        return call_result.FirmwareStatusNotification()

    @on(Action.log_status_notification)
    async def on_log_status_notification(self, status: str, **kwargs: Any) -> call_result.LogStatusNotification:
        await self.services.charge_points.record_event(
            self.id, "DiagnosticsStatusNotification",
            {"status": mapping.LOG_STATUS.get(status, status), "ocppStatus": status,
             "requestId": kwargs.get("request_id")},
        )
        return call_result.LogStatusNotification()

    @on(Action.security_event_notification)
    async def on_security_event_notification(
        self, type: str, timestamp: str, call_unique_id: str, **kwargs: Any
    ) -> call_result.SecurityEventNotification:
        mapping.timestamp(timestamp, call_unique_id)
        await self.services.charge_points.record_event(
            self.id, "SecurityEventNotification",
            {"type": type, "timestamp": timestamp, "techInfo": kwargs.get("tech_info")},
        )
        return call_result.SecurityEventNotification()

    @on(Action.notify_event)
    async def on_notify_event(
        self, generated_at: str, seq_no: int, event_data: list[dict[str, Any]], call_unique_id: str, **kwargs: Any
    ) -> call_result.NotifyEvent:
        mapping.timestamp(generated_at, call_unique_id)
        await self.services.charge_points.record_event(
            self.id, "NotifyEvent",
            {"generatedAt": generated_at, "seqNo": seq_no, "tbc": kwargs.get("tbc", False),
             "eventData": snake_to_camel_case(event_data)},
        )
        return call_result.NotifyEvent()

    @on(Action.notify_report)
    async def on_notify_report(
        self, request_id: int, generated_at: str, seq_no: int, call_unique_id: str, **kwargs: Any
    ) -> call_result.NotifyReport:
        """One part of a base report (B07/B08): stored before it is acknowledged."""
        mapping.timestamp(generated_at, call_unique_id)
        entries = commands.report_entries(kwargs.get("report_data") or [])
        if seq_no == 0:
            stored = entries
        else:  # later parts add to (or correct) what the earlier ones stored
            cp = await self.services.charge_points.get(self.id)
            by_key = {e["key"]: e for e in cp.reported_configuration or [] if isinstance(e, dict) and "key" in e}
            by_key.update({e["key"]: e for e in entries})
            stored = list(by_key.values())
        await self.services.charge_points.store_reported_configuration(self.id, stored)
        report = self._reports.get(request_id)
        if report is not None and not report.done():
            parts = self._report_parts.setdefault(request_id, [])
            parts.extend(entries)
            if not kwargs.get("tbc", False):
                report.set_result(list({e["key"]: e for e in parts}.values()))
        return call_result.NotifyReport()

    @on(Action.reservation_status_update)
    async def on_reservation_status_update(
        self, reservation_id: int, reservation_update_status: str, **kwargs: Any
    ) -> call_result.ReservationStatusUpdate:
        await self.services.charge_points.record_event(
            self.id, "ReservationStatusUpdate", {"reservationId": reservation_id, "status": reservation_update_status}
        )
        return call_result.ReservationStatusUpdate()

    # -- helpers -------------------------------------------------------------------------------------

    def _note_seq(self, pile_tx: str, seq_no: int, event_type: str, offline: bool) -> None:
        previous = self._last_seq.get(pile_tx)
        if previous is not None and seq_no > previous + 1:
            log.warning("%s: transaction %s seqNo %d after %d (%d events missing)", self.id, pile_tx, seq_no,
                        previous, seq_no - previous - 1)
        if previous is None or seq_no > previous:
            self._last_seq[pile_tx] = seq_no
        if offline:
            log.info("%s: transaction %s %s #%d happened while offline", self.id, pile_tx, event_type, seq_no)

    async def _status_of(self, number: int) -> ConnectorStatus:
        connector = await self.services.charge_points.ensure_connector(self.id, number)
        return ConnectorStatus(connector.status)

    async def _set_status(self, number: int, status: ConnectorStatus, at: datetime) -> None:
        error_code = "OtherError" if status == ConnectorStatus.FAULTED else "NoError"
        report = StatusReport(self.id, number, status, error_code, at)
        event = await self.services.charge_points.report_status(report)
        await self.services.charging.note_status(self.id, number, status, event.at)

    async def _follow_charging_state(self, number: int, status: ConnectorStatus, at: datetime) -> None:
        """An occupied connector shows what its transaction does (``mapping`` has the rules)."""
        current = await self._status_of(number)
        if current in (ConnectorStatus.FAULTED, ConnectorStatus.UNAVAILABLE) or current == status:
            return
        if status in (ConnectorStatus.AVAILABLE, ConnectorStatus.FINISHING) and current not in mapping.IN_USE:
            return
        await self._set_status(number, status, at)

    async def _connector_no(self, connector_id: int) -> int:
        connectors = await self.services.charge_points.connectors_by_ids([connector_id])
        return connectors[0].connector_no if connectors else 0  # type: ignore[no-any-return]


def _data_transfer(status: str, data: str | None = None) -> call_result.DataTransfer:
    return call_result.DataTransfer(status=status, data=data)  # type: ignore[arg-type]
