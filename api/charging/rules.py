"""Pure rules of charging: DC phase derivation. No I/O."""

from __future__ import annotations

from api.models.enums import ChargingPhase, ConnectorStatus, ConnectorType

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
