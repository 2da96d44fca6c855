"""Pure rules of charging: DC phase derivation, and when a session the pile never closed is closed. No I/O."""

from __future__ import annotations

from datetime import datetime

from api.models.enums import ChargingPhase, ConnectorStatus, ConnectorType

SUPERSEDED = "Superseded"
"""Stop reason of a session left open on a connector when the pile starts a new one there."""
STALE_CLOSED = "StaleClosed"
"""Stop reason of a session silent for the stale time while its connector is reported Available."""
PILE_REBOOTED = "PileRebooted"
"""Stop reason of a session silent for the stale time whose pile booted after it was last heard of."""
CLOSED_BY_RULE = frozenset({SUPERSEDED, STALE_CLOSED, PILE_REBOOTED})
"""Stop reasons we chose, not the pile: its own late stop (StopTransaction, TransactionEvent Ended) corrects them."""

PHASE_ORDER = {
    ChargingPhase.HANDSHAKE: 0,
    ChargingPhase.CONFIGURATION: 1,
    ChargingPhase.CHARGING: 2,
    ChargingPhase.ENDING: 3,
    ChargingPhase.ENDED: 4,
}

DC_CONNECTORS = {ConnectorType.GBT_DC, ConnectorType.CCS2, ConnectorType.CHADEMO}

# GB/T 27930-2015 message groups: handshake (BHM/CHM, BRM/CRM), configuration (BCP, CTS, CML, BRO, CRO),
# charging (BCL, BCS, CCS, BSM, BMV, BMT, BSP), ending (BST, CST, BSD, CSD, BEM, CEM).
GBT_MESSAGE_PHASE = {
    **dict.fromkeys(("BHM", "CHM", "BRM", "CRM"), ChargingPhase.HANDSHAKE),
    **dict.fromkeys(("BCP", "CTS", "CML", "BRO", "CRO"), ChargingPhase.CONFIGURATION),
    **dict.fromkeys(("BCL", "BCS", "CCS", "BSM", "BMV", "BMT", "BSP"), ChargingPhase.CHARGING),
    **dict.fromkeys(("BST", "CST", "BSD", "CSD", "BEM", "CEM"), ChargingPhase.ENDING),
}

STATUS_PHASE = {
    ConnectorStatus.PREPARING: ChargingPhase.HANDSHAKE,
    ConnectorStatus.CHARGING: ChargingPhase.CHARGING,
    ConnectorStatus.FINISHING: ChargingPhase.ENDING,
}

def is_dc(kind: ConnectorType) -> bool:
    return kind in DC_CONNECTORS


def initial_phase(kind: ConnectorType) -> ChargingPhase:
    """A DC session begins with the BMS handshake; an AC session has no BMS dialogue and charges at once."""
    return ChargingPhase.HANDSHAKE if is_dc(kind) else ChargingPhase.CHARGING


def advance(current: ChargingPhase | None, candidate: ChargingPhase | None) -> ChargingPhase | None:
    """The phase to move to, or None. Phases only move forward: a late or repeated report changes nothing."""
    if candidate is None:
        return None
    if current is None or PHASE_ORDER[candidate] > PHASE_ORDER[current]:
        return candidate
    return None


def phase_for_status(status: ConnectorStatus) -> ChargingPhase | None:
    return STATUS_PHASE.get(status)


def phase_for_gbt_message(message: str) -> ChargingPhase | None:
    return GBT_MESSAGE_PHASE.get(message.upper())


IN_TRANSACTION = frozenset({ConnectorStatus.CHARGING, ConnectorStatus.SUSPENDED_EV, ConnectorStatus.SUSPENDED_EVSE})
"""Connector statuses that say a transaction is running there."""


def stale_close_reason(
    session_heard: datetime,
    connector_status: ConnectorStatus | None,
    status_at: datetime | None,
    booted_at: datetime | None,
    cutoff: datetime,
) -> str | None:
    """Why an active session is closed now, or None to leave it open.

    ``session_heard`` is when we last received anything of the session (on our clock), or, for a session
    stored before we kept that, the latest of its opening, its samples and its phases; with its connector's
    status report it is the last time anything was heard of it, and that must be before ``cutoff`` (the stale
    time ago). Then: if its pile booted after the session was last heard of and has not reported the connector in
    a transaction since, ``PileRebooted`` (a 1.6 pile that reboots ends its transactions; its own late
    StopTransaction still corrects the figures); else if the connector's last report is Available,
    ``StaleClosed``. A connector still reported charging keeps its session, however quiet."""
    heard = max(session_heard, status_at) if status_at is not None else session_heard
    if heard > cutoff:
        return None
    if booted_at is not None and booted_at > session_heard:
        in_transaction_since_boot = (
            status_at is not None and status_at >= booted_at and connector_status in IN_TRANSACTION
        )
        if not in_transaction_since_boot:
            return PILE_REBOOTED
    if connector_status == ConnectorStatus.AVAILABLE:
        return STALE_CLOSED
    return None
