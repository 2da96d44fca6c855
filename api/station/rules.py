"""Pure map rules: distances on GCJ-02 coordinates and per-station connector counts. No I/O."""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field

from api.models.enums import ConnectorStatus, ConnectorType

EARTH_RADIUS_M = 6_371_008.8

BUSY = {ConnectorStatus.PREPARING, ConnectorStatus.CHARGING, ConnectorStatus.SUSPENDED_EV,
        ConnectorStatus.SUSPENDED_EVSE, ConnectorStatus.FINISHING}


def distance_m(lat1: float, lng1: float, lat2: float, lng2: float) -> float:
    """Great-circle (haversine) distance. GCJ-02 offsets WGS-84 by a few hundred metres at most, the same
    way for nearby points, so distances between GCJ-02 points are good to a few metres."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lng2 - lng1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(a)))


def bounding_box(lat: float, lng: float, radius_m: float) -> tuple[float, float, float, float]:
    """(min_lat, max_lat, min_lng, max_lng) containing the circle; an indexed pre-filter before haversine."""
    dlat = math.degrees(radius_m / EARTH_RADIUS_M)
    cos_lat = max(math.cos(math.radians(lat)), 1e-6)
    dlng = math.degrees(radius_m / (EARTH_RADIUS_M * cos_lat))
    return lat - dlat, lat + dlat, lng - dlng, lng + dlng


@dataclass
class ConnectorCounts:
    total: int = 0
    available: int = 0
    charging: int = 0
    faulted: int = 0
    unavailable: int = 0
    kinds: set[ConnectorType] = field(default_factory=set)
    max_power_w: int = 0
    available_kinds: set[ConnectorType] = field(default_factory=set)
    available_max_power_w: int = 0


def count_connectors(rows: Iterable[tuple[ConnectorStatus, ConnectorType, int]]) -> ConnectorCounts:
    counts = ConnectorCounts()
    for status, kind, power_w in rows:
        counts.total += 1
        counts.kinds.add(kind)
        counts.max_power_w = max(counts.max_power_w, power_w)
        if status == ConnectorStatus.AVAILABLE:
            counts.available += 1
            counts.available_kinds.add(kind)
            counts.available_max_power_w = max(counts.available_max_power_w, power_w)
        elif status in BUSY:
            counts.charging += 1
        elif status == ConnectorStatus.FAULTED:
            counts.faulted += 1
        else:
            counts.unavailable += 1
    return counts


@dataclass(frozen=True)
class MapFilter:
    available_now: bool = False
    connector_types: frozenset[ConnectorType] = frozenset()
    min_power_w: int = 0

    def accepts(self, counts: ConnectorCounts) -> bool:
        kinds = counts.available_kinds if self.available_now else counts.kinds
        power = counts.available_max_power_w if self.available_now else counts.max_power_w
        if self.available_now and counts.available == 0:
            return False
        if self.connector_types and not (kinds & self.connector_types):
            return False
        return power >= self.min_power_w
