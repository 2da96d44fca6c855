"""What travels between nodes comes back as it left: commands, their results, and nothing else."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from api.cluster.node import command_codec
from api.commands import dto

AT = datetime(2026, 11, 29, 8, 0, tzinfo=UTC)

COMMANDS = [
    dto.RemoteStart("DEMO0001", connector_no=1, max_power_w=60_000),
    dto.RemoteStop(42),
    dto.GetConfiguration(("HeartbeatInterval", "MeterValueSampleInterval")),
    dto.ReserveNow(2, "DEMO0002", AT, 7),
    dto.SendLocalList(5, False, (dto.LocalListEntry("DEMO0001", "Accepted", AT), dto.LocalListEntry("X", None))),
    dto.UpdateFirmware("https://files.example.cn/fw.bin", AT, retries=3),
    dto.Reset(hard=True),
]


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: type(c).__name__)
def test_commands_round_trip(command):
    codec = command_codec()
    assert codec.decode(codec.encode(command)) == command


def test_results_round_trip_with_nested_values():
    codec = command_codec()
    result = dto.CommandResult(
        dto.Outcome.ACCEPTED, status="Accepted", message="ok",
        configuration=(dto.ConfigurationKey("HeartbeatInterval", "300", False),), unknown_keys=("Nope",),
    )
    back = codec.decode(codec.encode(result))
    assert back == result
    assert isinstance(back.outcome, dto.Outcome) and isinstance(back.configuration[0], dto.ConfigurationKey)


def test_only_known_classes_are_built():
    codec = command_codec()
    with pytest.raises(ValueError, match="unknown type"):
        codec.decode('{"t": "api.settings.Settings", "f": {}}')
    with pytest.raises(ValueError, match="not an encoded dataclass"):
        codec.decode('["RemoteStart"]')
