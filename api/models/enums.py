"""Stored enumerations. Values are protocol-neutral words; adapters map protocol values onto them."""

from enum import StrEnum


class StationKind(StrEnum):
    CHARGING = "charging"
    SWAP = "swap"


class RegistrationStatus(StrEnum):
    ACCEPTED = "accepted"
    PENDING = "pending"
    REJECTED = "rejected"


class ConnectorType(StrEnum):
    GBT_DC = "gbt_dc"
    GBT_AC = "gbt_ac"
    CCS2 = "ccs2"
    TYPE2 = "type2"
    CHADEMO = "chademo"
    OTHER = "other"


class ConnectorStatus(StrEnum):
    """OCPP 1.6 ChargePointStatus, the richest common vocabulary; 2.0.1 maps onto it."""

    AVAILABLE = "available"
    PREPARING = "preparing"
    CHARGING = "charging"
    SUSPENDED_EV = "suspended_ev"
    SUSPENDED_EVSE = "suspended_evse"
    FINISHING = "finishing"
    RESERVED = "reserved"
    UNAVAILABLE = "unavailable"
    FAULTED = "faulted"
    UNKNOWN = "unknown"


class SessionStatus(StrEnum):
    ACTIVE = "active"
    COMPLETED = "completed"


class ChargingPhase(StrEnum):
    """Phases of a DC fast-charging session (GB/T 27930); AC sessions go straight to charging."""

    HANDSHAKE = "handshake"
    CONFIGURATION = "configuration"
    CHARGING = "charging"
    ENDING = "ending"
    ENDED = "ended"


class IdTagStatus(StrEnum):
    ACCEPTED = "accepted"
    BLOCKED = "blocked"
    EXPIRED = "expired"


class IdTagKind(StrEnum):
    RFID = "rfid"
    APP = "app"
    VIN = "vin"


class Role(StrEnum):
    """What a person may do, and over what (the grant's scope)."""

    PLATFORM_ADMIN = "platform_admin"
    """Everything, everywhere (the company running ChargeOps)."""
    OPERATOR_ADMIN = "operator_admin"
    """Everything about one operator's stations, cards and staff."""
    STATION_MANAGER = "station_manager"
    """Operates, locks and keeps the files and access policy of the stations granted."""
    FLEET_MANAGER = "fleet_manager"
    """Cards and sessions of one fleet (e.g. a city bus group)."""
    PARTNER = "partner"
    """Reads the revenue of the stations it shares in; changes nothing."""
    DRIVER = "driver"
    """Their own cards, vehicles and sessions."""


class Availability(StrEnum):
    OPERATIVE = "operative"
    INOPERATIVE = "inoperative"


class AccessMode(StrEnum):
    """Who a station admits (at a given time)."""

    PUBLIC = "public"
    """Anyone with a valid card or app account."""
    PRIVATE = "private"
    """Only the id tags, people and fleets on the station's allow-list."""
    FLEET_ONLY = "fleet_only"
    """Only cards of the fleets on the allow-list (e.g. a bus depot)."""
    CLOSED = "closed"
    """Nobody (e.g. outside a private car park's hours)."""


class AccessRuleEffect(StrEnum):
    ALLOW = "allow"
    BLOCK = "block"
