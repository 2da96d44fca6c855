import pytest

from api.core.vehicle_ids import is_vin, normalize_plate


def test_vin_shape():
    assert is_vin("LFV2A21K6M3000001")
    assert not is_vin("LFV2A21K6M300000")  # 16 characters
    assert not is_vin("LFV2A21K6M300000I")  # I is not used in VINs
    assert not is_vin("lfv2a21k6m3000001")
    assert not is_vin(None)


@pytest.mark.parametrize(
    ("raw", "plate"),
    [
        ("浙A12345", "浙A12345"),
        ("浙a·1234x", "浙A1234X"),  # the dot printed on plates and lower case typed on phones
        (" 沪 B-D12345 ", "沪BD12345"),  # new-energy small car: D first
        ("粤B12345F", "粤B12345F"),  # new-energy large vehicle: F last
    ],
)
def test_plates_are_normalized(raw, plate):
    assert normalize_plate(raw) == plate


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "A12345",  # no province
        "浙I12345",  # I is not an office letter
        "浙A1234",  # too short
        "浙A1234567",  # too long
        "浙AX12345",  # six serial characters without D/F
        "美A12345",  # not a province
    ],
)
def test_not_plates(raw):
    assert normalize_plate(raw) is None
