"""tortoise-orm models: tables only, no rules. One module per table family; all in one "models" app."""

from api.models.access import DriverVehicle, IdTag, Vehicle
from api.models.audit import AuditEntry
from api.models.charge_point import (
    ChargePoint,
    ChargePointEvent,
    Connector,
    DesiredConfiguration,
    Reservation,
)
from api.models.charging import ChargingSession, SessionPhaseChange
from api.models.file import StationFile, StationFileVersion
from api.models.meter import MeterSample
from api.models.order import ChargingOrder, Partner, PaymentInbox, RevenueShareRule, SettlementStep, TopUp
from api.models.people import Fleet, RoleGrant, User
from api.models.policy import LocalListState, StationAccessPolicy, StationAccessRule
from api.models.qr import ConnectorCode
from api.models.station import Operator, Station
from api.models.ledger import JournalEntry, JournalLine, LedgerAccount
from api.models.tariff import Tariff

__all__ = [
    "ChargingOrder",
    "Partner",
    "PaymentInbox",
    "RevenueShareRule",
    "SettlementStep",
    "TopUp",
    "Tariff",
    "JournalEntry",
    "JournalLine",
    "LedgerAccount",
    "AuditEntry",
    "DesiredConfiguration",
    "Fleet",
    "LocalListState",
    "StationAccessPolicy",
    "StationAccessRule",
    "Reservation",
    "RoleGrant",
    "User",
    "ChargePoint",
    "ChargePointEvent",
    "ChargingSession",
    "Connector",
    "ConnectorCode",
    "IdTag",
    "MeterSample",
    "Operator",
    "SessionPhaseChange",
    "Station",
    "StationFile",
    "StationFileVersion",
    "Vehicle",
    "DriverVehicle",
]
