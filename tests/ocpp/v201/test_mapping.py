"""The pure 2.0.1 mappings: connector numbers, id tokens, meter values, configuration keys."""

from __future__ import annotations

from datetime import UTC, datetime
from types import SimpleNamespace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from api.commands.dto import ChangeConfiguration, GetConfiguration, Outcome
from api.ocpp.frames import Fault, FrameError
from api.ocpp.v201 import commands, mapping


@given(st.integers(1, 99), st.integers(1, 99))
def test_every_evse_connector_has_its_own_number_and_back(evse_id, connector_id):
    number = mapping.connector_no(evse_id, connector_id, "u1")
    assert mapping.evse_of(number) == (evse_id, connector_id)
    assert (number == evse_id) == (connector_id == 1)


@pytest.mark.parametrize(("evse", "connector"), [(100, 1), (1, 100), (-1, 1), (1, 0)])
def test_ids_out_of_range_are_a_property_violation(evse, connector):
    with pytest.raises(FrameError) as refused:
        mapping.connector_no(evse, connector, "u2")
    assert refused.value.fault == Fault.PROPERTY and refused.value.unique_id == "u2"


def test_evse_zero_is_the_pile():
    assert mapping.connector_no(0, None, "u") == 0
    assert mapping.evse_connector(None, "u") is None
    assert mapping.evse_connector({"id": 3}, "u") == 3


def test_id_tokens():
    assert mapping.id_tag({"id_token": "04A1B2C3", "type": "ISO14443"}) == "04A1B2C3"
    assert mapping.id_tag({"id_token": "", "type": "NoAuthorization"}) == ""
    assert mapping.id_tag(None) is None
    card = {"id_token": "C1", "type": "ISO14443",
            "additional_info": [{"additional_id_token": "x", "type": "PlateNo"},
                                {"additional_id_token": "lsvau2180n2183294", "type": "vin"}]}
    assert mapping.vin_beside(card) == "LSVAU2180N2183294"
    assert mapping.vin_beside({"id_token": "C1", "type": "Local", "additional_info": [
        {"additional_id_token": "NOT-A-VIN", "type": "VIN"}]}) is None


def test_meter_values_scale_by_the_multiplier_and_bound_the_registers():
    at = "2026-11-24T10:00:00Z"
    readings = mapping.meter_readings("CP", 1, None, [
        {"timestamp": at, "sampled_value": [
            {"value": 12.5, "unit_of_measure": {"unit": "kWh"}, "context": "Transaction.Begin"},
            {"value": 7.4, "measurand": "Power.Active.Import", "unit_of_measure": {"unit": "W", "multiplier": 3},
             "context": "Transaction.Begin"}]},
        {"timestamp": "2026-11-24T10:01:00Z", "sampled_value": [{"value": 12_600}]},
        {"timestamp": "2026-11-24T09:59:00Z", "sampled_value": [{"value": 12_400, "context": "Sample.Clock"}]},
    ], "u")
    begin = next(r for r in readings if r.context == "Transaction.Begin")
    assert (begin.ts, begin.energy_wh, begin.power_w) == (datetime(2026, 11, 24, 10, tzinfo=UTC), 12_500, 7_400)
    assert mapping.register_bounds(readings) == (12_500, 12_600)
    assert mapping.register_bounds(readings[1:]) == (12_400, 12_600)
    assert mapping.register_bounds([]) == (None, None)


def test_configuration_keys_map_to_variables_or_are_refused():
    get = commands.to_call(GetConfiguration(("HeartbeatInterval", "OCPPCommCtrlr.NetworkConfigurationPriority")))
    assert [(d.component.name, d.variable.name) for d in get.get_variable_data] == [
        ("OCPPCommCtrlr", "HeartbeatInterval"), ("OCPPCommCtrlr", "NetworkConfigurationPriority")]
    nothing = commands.to_call(GetConfiguration(("NumberOfConnectors",)))
    assert (nothing.outcome, nothing.unknown_keys) == (Outcome.ACCEPTED, ("NumberOfConnectors",))
    refused = commands.to_call(ChangeConfiguration("Not.A.Key", "1"))
    assert (refused.outcome, refused.status) == (Outcome.REJECTED, "NotSupported")


def test_variable_names_match_case_insensitively():
    answer = SimpleNamespace(get_variable_result=[{
        "attribute_status": "Accepted", "attribute_value": "60",
        "component": {"name": "ocppcommctrlr"}, "variable": {"name": "HEARTBEATINTERVAL"}}])
    result = commands.interpret(GetConfiguration(("HeartbeatInterval",)), "GetVariables", answer)
    assert [(c.key, c.value) for c in result.configuration] == [("HeartbeatInterval", "60")]
