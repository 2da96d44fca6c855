"""tortoise-orm models: tables only, no rules. One module per table family; all in one "models" app."""

from api.models.access import IdTag, Vehicle
from api.models.charge_point import ChargePoint, ChargePointEvent, Connector
from api.models.charging import ChargingSession, SessionPhaseChange
from api.models.meter import MeterSample
from api.models.station import Operator, Station

__all__ = [
    "ChargePoint",
    "ChargePointEvent",
    "ChargingSession",
    "Connector",
    "IdTag",
    "MeterSample",
    "Operator",
    "SessionPhaseChange",
    "Station",
    "Vehicle",
]
