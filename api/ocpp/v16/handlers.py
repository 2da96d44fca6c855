"""OCPP 1.6J: one ``@on`` handler per action a pile sends. Each maps, calls the domain, maps back.

Everything a pile reports is stored by the domain call before the handler returns, so the CALLRESULT
is only sent for durable data (DESIGN §4); a failure becomes a CALLERROR and the pile retries.
"""

from __future__ import annotations

import json
from typing import Any

from ocpp.routing import on
from ocpp.v16 import call, call_result
from ocpp.v16.enums import Action, DataTransferStatus

from api.charge_point.dto import BootInfo, StatusReport
from api.charging.dto import TransactionStart, TransactionStop, VehicleReport
from api.charging.rules import GBT_MESSAGE_PHASE
from api.commands.dto import Command, CommandResult
from api.models.enums import RegistrationStatus
from api.ocpp.connection import OcppConnection
from api.ocpp.schemas import V16, load
from api.ocpp.v16 import commands, mapping

VEHICLE_MESSAGES = frozenset(GBT_MESSAGE_PHASE) | {"VIN"}
"""DataTransfer messageIds we understand (any vendorId): GB/T 27930 BMS message names, or ``VIN``.
``data`` is a JSON object string: {"connectorId", "transactionId"?, "vin"?, "timestamp"?, ...}."""


class ChargePointV16(OcppConnection):
    dialect = V16
    # what the ocpp library's call() needs to validate our CALLs and build the answers' dataclasses
    _ocpp_version = "1.6"
    _call = call
    _call_result = call_result
    schemas = load(V16)
    pile_actions = frozenset(
        {
            Action.boot_notification,
            Action.heartbeat,
            Action.status_notification,
            Action.authorize,
            Action.start_transaction,
            Action.meter_values,
            Action.stop_transaction,
            Action.data_transfer,
            Action.diagnostics_status_notification,
            Action.firmware_status_notification,
        }
    )

    def command_call(self, command: Command) -> Any:
        return commands.to_call(command)

    def command_result(self, action: str, answer: Any) -> CommandResult:
        return commands.interpret(action, answer)

    @on(Action.boot_notification)
    async def on_boot_notification(
        self, charge_point_vendor: str, charge_point_model: str, **kwargs: Any
    ) -> call_result.BootNotification:
        info = BootInfo(
            vendor=charge_point_vendor,
            model=charge_point_model,
            serial_number=kwargs.get("charge_point_serial_number") or kwargs.get("charge_box_serial_number") or "",
            firmware_version=kwargs.get("firmware_version", ""),
            iccid=kwargs.get("iccid", ""),
            imsi=kwargs.get("imsi", ""),
            meter_type=kwargs.get("meter_type", ""),
            meter_serial_number=kwargs.get("meter_serial_number", ""),
        )
        result = await self.services.charge_points.boot(self.id, info)
        self.accepted = result.status == RegistrationStatus.ACCEPTED
        if self.accepted:  # locks and configuration operators set are sent again after every boot
            self.follow_up = lambda: self.services.operations.reapply(self.id)
        return call_result.BootNotification(
            current_time=result.current_time.isoformat().replace("+00:00", "Z"),
            interval=result.interval_s,
            status=mapping.REGISTRATION[result.status],
        )

    @on(Action.heartbeat)
    async def on_heartbeat(self, **kwargs: Any) -> call_result.Heartbeat:
        now = await self.services.charge_points.heartbeat(self.id)
        return call_result.Heartbeat(current_time=now.isoformat().replace("+00:00", "Z"))

    @on(Action.status_notification)
    async def on_status_notification(
        self, connector_id: int, error_code: str, status: str, call_unique_id: str, **kwargs: Any
    ) -> call_result.StatusNotification:
        at = mapping.timestamp(kwargs["timestamp"], call_unique_id) if kwargs.get("timestamp") else None
        report = StatusReport(
            charge_point_id=self.id,
            connector_no=connector_id,
            status=mapping.connector_status(status),
            error_code=error_code,
            at=at,  # type: ignore[arg-type]
            info=kwargs.get("info", ""),
            vendor_error_code=kwargs.get("vendor_error_code", ""),
        )
        event = await self.services.charge_points.report_status(report)
        await self.services.charging.note_status(self.id, connector_id, report.status, event.at)
        return call_result.StatusNotification()

    @on(Action.authorize)
    async def on_authorize(self, id_tag: str, **kwargs: Any) -> call_result.Authorize:
        authorization = await self.services.charging.authorize(id_tag, self.id)
        return call_result.Authorize(id_tag_info=mapping.id_tag_info(authorization))

    @on(Action.start_transaction)
    async def on_start_transaction(
        self, connector_id: int, id_tag: str, meter_start: int, timestamp: str, call_unique_id: str, **kwargs: Any
    ) -> call_result.StartTransaction:
        result = await self.services.charging.start(
            TransactionStart(
                charge_point_id=self.id,
                connector_no=connector_id,
                id_tag=id_tag,
                meter_start_wh=meter_start,
                timestamp=mapping.timestamp(timestamp, call_unique_id),
                reservation_id=kwargs.get("reservation_id"),
            )
        )
        return call_result.StartTransaction(
            transaction_id=result.transaction_id, id_tag_info=mapping.id_tag_info(result.authorization)
        )

    @on(Action.meter_values)
    async def on_meter_values(
        self, connector_id: int, meter_value: list[dict[str, Any]], call_unique_id: str, **kwargs: Any
    ) -> call_result.MeterValues:
        readings = mapping.meter_readings(
            self.id, connector_id, kwargs.get("transaction_id"), meter_value, call_unique_id
        )
        # stored in a batch with the other piles' MeterValues of the moment; back only once committed
        await self.services.metering.submit(readings)
        return call_result.MeterValues()

    @on(Action.stop_transaction)
    async def on_stop_transaction(
        self, meter_stop: int, timestamp: str, transaction_id: int, call_unique_id: str, **kwargs: Any
    ) -> call_result.StopTransaction:
        stopped_at = mapping.timestamp(timestamp, call_unique_id)
        if kwargs.get("transaction_data"):
            session = await self.services.charging.find(transaction_id)
            connector_no = await self._connector_no(session.connector_id) if session and session.charge_point_id == self.id else 0
            readings = mapping.meter_readings(
                self.id, connector_no, transaction_id, kwargs["transaction_data"], call_unique_id
            )
            await self.services.metering.record(readings)
        authorization = await self.services.charging.stop(
            TransactionStop(
                charge_point_id=self.id,
                transaction_id=transaction_id,
                meter_stop_wh=meter_stop,
                timestamp=stopped_at,
                reason=kwargs.get("reason") or "Local",
                id_tag=kwargs.get("id_tag"),
            )
        )
        return call_result.StopTransaction(
            id_tag_info=mapping.id_tag_info(authorization) if authorization else None
        )

    @on(Action.data_transfer)
    async def on_data_transfer(self, vendor_id: str, call_unique_id: str, **kwargs: Any) -> call_result.DataTransfer:
        message_id = kwargs.get("message_id") or ""
        raw = kwargs.get("data")
        await self.services.charge_points.record_event(
            self.id, "DataTransfer", {"vendorId": vendor_id, "messageId": message_id, "data": raw}
        )
        if message_id.upper() not in VEHICLE_MESSAGES:
            return call_result.DataTransfer(status=DataTransferStatus.unknown_message_id)
        try:
            data = json.loads(raw) if raw else {}
        except ValueError:
            data = None
        if not isinstance(data, dict):
            return call_result.DataTransfer(status=DataTransferStatus.rejected, data="data must be a JSON object")
        transaction_id, connector_no = data.get("transactionId"), data.get("connectorId")
        if not (transaction_id is None or type(transaction_id) is int) or not (
            connector_no is None or type(connector_no) is int
        ):
            return call_result.DataTransfer(status=DataTransferStatus.rejected, data="ids must be integers")
        if not (transaction_id is None or 0 < transaction_id <= 2**31 - 1) or not (
            connector_no is None or 0 <= connector_no <= 2**15 - 1
        ):
            return call_result.DataTransfer(status=DataTransferStatus.rejected, data="ids out of range")
        vin = data.get("vin") if isinstance(data.get("vin"), str) else None
        at = mapping.timestamp(data["timestamp"], call_unique_id) if isinstance(data.get("timestamp"), str) else None
        session_id = await self.services.charging.vehicle_report(
            VehicleReport(self.id, connector_no, transaction_id, message_id.upper(), vin, at)  # type: ignore[arg-type]
        )
        if session_id is None:
            return call_result.DataTransfer(status=DataTransferStatus.rejected, data="no matching session")
        return call_result.DataTransfer(status=DataTransferStatus.accepted)

    @on(Action.diagnostics_status_notification)
    async def on_diagnostics_status_notification(self, status: str, **kwargs: Any) -> call_result.DiagnosticsStatusNotification:
        await self.services.charge_points.record_event(self.id, "DiagnosticsStatusNotification", {"status": status})
        return call_result.DiagnosticsStatusNotification()

    @on(Action.firmware_status_notification)
    async def on_firmware_status_notification(self, status: str, **kwargs: Any) -> call_result.FirmwareStatusNotification:
        await self.services.charge_points.record_event(self.id, "FirmwareStatusNotification", {"status": status})
        return call_result.FirmwareStatusNotification()

    async def _connector_no(self, connector_id: int) -> int:
        connectors = await self.services.charge_points.connectors_by_ids([connector_id])
        return connectors[0].connector_no if connectors else 0
