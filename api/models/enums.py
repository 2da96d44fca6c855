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


class LedgerAccountKind(StrEnum):
    """Kinds of ledger account; ``api.ledger.rules.NEVER_NEGATIVE`` says which may not go below zero."""

    WALLET = "wallet"
    """A driver's stored value (key: user id). Never negative."""
    WALLET_HOLD = "wallet_hold"
    """The part of a wallet reserved for running balance-paid orders (key: user id). Never negative."""
    UNSETTLED = "unsettled"
    """Paid through a provider for orders not yet settled (key: ``platform``). Never negative."""
    CLEARING = "clearing"
    """The platform's money at a provider (key: wechatpay, alipay, sandbox); the counter-account of money
    coming in (negative) and going out (positive). May be negative."""
    REVENUE = "revenue"
    """Earned share (key: ``platform`` or the operator id). May be negative (a refund after settlement)."""
    PARTNER = "partner"
    """A partner's sub-account (分账子账户), credited by shares and allocation transfers (key: partner id).
    Never negative."""
    PAYOUT = "payout"
    """Paid out of the platform to partners outside a provider split (key: channel, e.g. bank). May be negative."""


class JournalEntryKind(StrEnum):
    """What a journal entry records (the flows are drawn in ``api.ledger.service``)."""

    PAYMENT = "payment"
    """Paid through a provider for an order: CLEARING -, UNSETTLED +."""
    REFUND = "refund"
    """Back by the original route: UNSETTLED (or REVENUE after settlement) -, CLEARING +."""
    PROFIT_SHARING = "profit_sharing"
    """A partner's share leaving through the provider: UNSETTLED -, PARTNER +, PARTNER -, CLEARING +."""
    REVENUE_RELEASE = "revenue_release"
    """The rest of a settled provider-paid order: UNSETTLED -, REVENUE +."""
    TOP_UP = "top_up"
    """Wallet top-up: CLEARING -, WALLET +."""
    HOLD = "hold"
    """The cap of a balance-paid order reserved: WALLET -, WALLET_HOLD +."""
    CAPTURE = "capture"
    """The amount due of a balance-paid order: WALLET_HOLD -, REVENUE +, PARTNER + (allocation transfer)."""
    HOLD_RELEASE = "hold_release"
    """The unused part of a cap back to the wallet: WALLET_HOLD -, WALLET +."""
    PAYOUT = "payout"
    """A partner paid outside a provider split: PARTNER -, PAYOUT +."""
    ADJUSTMENT = "adjustment"
    """A correction by the operations team (any balanced lines)."""


class TariffKind(StrEnum):
    """How a tariff version prices a session."""

    TIME_OF_USE = "time_of_use"
    """尖峰平谷: an energy fee and a service fee per kWh, by the period of the day (Asia/Shanghai)."""
    HOURLY = "hourly"
    """A price per hour of charging (slow chargers), prorated per second."""


class TariffTier(StrEnum):
    """The time-of-use tiers (尖峰平谷) a period of the day belongs to."""

    SHARP = "sharp"
    PEAK = "peak"
    FLAT = "flat"
    VALLEY = "valley"
