"""How a vehicle is named: its VIN (ISO 3779) and its Chinese number plate (GA 36)."""

from __future__ import annotations

import re

VIN_PATTERN = re.compile(r"^[A-HJ-NPR-Z0-9]{17}$")
"""17 characters, digits and capitals except I, O and Q."""

_PROVINCES = "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼"
PLATE_PATTERN = re.compile(
    rf"^[{_PROVINCES}][A-HJ-NP-Z]"  # province, then the issuing office's letter (no I or O)
    r"(?:[A-HJ-NP-Z0-9]{5}|[DF][A-HJ-NP-Z0-9]{5}|[A-HJ-NP-Z0-9]{5}[DF])$"  # ordinary, or new-energy (D/F)
)
"""An ordinary plate has five serial characters after the office letter; a new-energy (green) plate six, with
D (battery electric) or F (other new energy) first (small cars) or last (large vehicles)."""


def is_vin(value: str | None) -> bool:
    return value is not None and VIN_PATTERN.fullmatch(value) is not None


def normalize_plate(raw: str) -> str | None:
    """``浙a·12345`` → ``浙A12345``; None when it is not a plate."""
    plate = re.sub(r"[\s·•.\-]", "", raw).upper()
    return plate if PLATE_PATTERN.fullmatch(plate) else None
