"""Every query of the tariff domain. Versions are only ever added, never changed."""

from __future__ import annotations

from datetime import datetime

from tortoise.exceptions import IntegrityError

from api.models import Tariff
from api.models.enums import TariffKind, TariffTier
from api.tariff import rules
from api.tariff.dto import IdleTerms, TariffTerms, TariffVersion, TierPrice

PUBLISH_ATTEMPTS = 5


def _version(row: Tariff) -> TariffVersion:
    prices: dict[TariffTier, TierPrice] = {}
    for tier in TariffTier:
        energy = getattr(row, f"{tier.value}_energy_price_e4")
        service = getattr(row, f"{tier.value}_service_price_e4")
        if energy is not None and service is not None:
            prices[tier] = TierPrice(energy, service)
    idle = None
    if row.idle_price_e4 is not None:
        idle = IdleTerms(row.idle_price_e4, row.idle_grace_min, row.idle_cap_fen)
    terms = TariffTerms(
        kind=TariffKind(row.kind),
        periods=tuple(
            rules.period(f"{p['from']}-{p['to']}", TariffTier(p["tier"])) for p in row.periods or []
        ),
        prices=prices,
        hourly_price_e4=row.hourly_price_e4,
        idle=idle,
        note=row.note,
    )
    return TariffVersion(
        station_id=row.station_id, version=row.version, effective_from=row.effective_from, terms=terms,
        id=row.id, created_by_id=row.created_by_id, created_at=row.created_at,
    )


def _columns(terms: TariffTerms) -> dict[str, object]:
    values: dict[str, object] = {
        "kind": terms.kind,
        "periods": [p.as_json() for p in terms.periods],
        "hourly_price_e4": terms.hourly_price_e4,
        "idle_price_e4": terms.idle.idle_price_e4 if terms.idle else None,
        "idle_grace_min": terms.idle.idle_grace_min if terms.idle else 0,
        "idle_cap_fen": terms.idle.idle_cap_fen if terms.idle else None,
        "note": terms.note,
    }
    for tier in TariffTier:
        price = terms.prices.get(tier)
        values[f"{tier.value}_energy_price_e4"] = price.energy_price_e4 if price else None
        values[f"{tier.value}_service_price_e4"] = price.service_price_e4 if price else None
    return values


async def add(
    station_id: int, terms: TariffTerms, effective_from: datetime, created_by_id: int | None
) -> TariffVersion:
    """Store the station's next version (its number: one more than the highest so far)."""
    for attempt in range(PUBLISH_ATTEMPTS):
        latest = await Tariff.filter(station_id=station_id).order_by("-version").first()
        number = (latest.version if latest else 0) + 1
        try:
            row = await Tariff.create(
                station_id=station_id, version=number, effective_from=effective_from,
                created_by_id=created_by_id, **_columns(terms),
            )
        except IntegrityError:  # another publication took this number first
            if attempt == PUBLISH_ATTEMPTS - 1:
                raise
            continue
        return _version(row)
    raise AssertionError("unreachable")


async def versions(station_id: int, until: datetime | None = None) -> list[TariffVersion]:
    """The station's versions in the order of publication (only those starting at or before ``until``)."""
    query = Tariff.filter(station_id=station_id)
    if until is not None:
        query = query.filter(effective_from__lte=until)
    return [_version(row) for row in await query.order_by("version")]


async def in_force(station_id: int, at: datetime) -> TariffVersion | None:
    row = await Tariff.filter(station_id=station_id, effective_from__lte=at).order_by("-version").first()
    return _version(row) if row is not None else None
