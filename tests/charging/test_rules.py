"""Charging rules: DC phases only move forward."""

from __future__ import annotations

from api.charging.rules import advance, initial_phase, phase_for_gbt_message, phase_for_status
from api.models.enums import ChargingPhase, ConnectorStatus, ConnectorType


def test_phases_only_move_forward():
    assert advance(None, ChargingPhase.HANDSHAKE) == ChargingPhase.HANDSHAKE
    assert advance(ChargingPhase.HANDSHAKE, ChargingPhase.CHARGING) == ChargingPhase.CHARGING
    assert advance(ChargingPhase.CHARGING, ChargingPhase.CONFIGURATION) is None
    assert advance(ChargingPhase.CHARGING, ChargingPhase.CHARGING) is None
    assert advance(ChargingPhase.ENDING, None) is None


def test_gbt_messages_and_statuses_map_to_phases():
    assert [phase_for_gbt_message(m) for m in ("bhm", "BRM", "BCP", "BRO", "BCS", "BST", "BSD", "XYZ")] == [
        ChargingPhase.HANDSHAKE, ChargingPhase.HANDSHAKE, ChargingPhase.CONFIGURATION, ChargingPhase.CONFIGURATION,
        ChargingPhase.CHARGING, ChargingPhase.ENDING, ChargingPhase.ENDING, None,
    ]
    assert phase_for_status(ConnectorStatus.SUSPENDED_EV) is None
    assert phase_for_status(ConnectorStatus.FINISHING) == ChargingPhase.ENDING
    assert initial_phase(ConnectorType.GBT_DC) == ChargingPhase.HANDSHAKE
    assert initial_phase(ConnectorType.GBT_AC) == ChargingPhase.CHARGING

