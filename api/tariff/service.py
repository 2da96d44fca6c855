"""Tariff use cases: publish a station's next tariff version (scoped to MANAGE_TARIFFS and audited), read the
versions and the price in force (no login needed: drivers see prices), and price a session from its readings.

The cost itself is ``rules.cost`` (pure); ``cost`` here only loads the versions a session needs. Callers that
price often (live session updates) may load ``versions_for`` once and call ``rules.cost`` themselves.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from api.access.dto import Permission, Viewer
from api.access.service import AccessService, forbidden, require_viewer
from api.audit.dto import Actor, AuditRecord
from api.audit.service import AuditService
from api.core.clock import SHANGHAI, Clock, as_utc
from api.core.errors import InvalidInput, NotFound
from api.tariff import repository, rules
from api.tariff.dto import Cost, PriceNow, Reading, TariffTerms, TariffVersion
from api.tariff.errors import NoTariff

AUDIT_ACTION = "station.tariff"


class TariffService:
    def __init__(self, clock: Clock, access: AccessService, audit: AuditService) -> None:
        self.clock = clock
        self.access = access
        self.audit = audit

    # -- publishing ------------------------------------------------------------------------------------------

    async def publish(
        self, viewer: Viewer | None, station_id: int, draft: TariffTerms,
        effective_from: datetime | None = None, *, backdate: bool = False,
    ) -> TariffVersion:
        """Publish the station's next version, in force from ``effective_from`` (None: now).

        ``backdate`` lets a platform admin import history (an ``effective_from`` in the past re-prices what
        was charged since, so nobody else may). Import oldest first: the newest publication wins from its
        ``effective_from`` on.
        """
        operator_id = await self.access.require_station(viewer, Permission.MANAGE_TARIFFS, station_id)
        actor = require_viewer(viewer)
        if backdate and not actor.is_platform_admin:
            raise forbidden(
                actor, Permission.MANAGE_TARIFFS, f"station {station_id} in the past (platform admins only)"
            )
        now = self.clock.now()
        try:
            terms = rules.check_terms(draft)
            start = rules.check_effective_from(effective_from or now, now, backdate=backdate)
        except ValueError as e:
            raise InvalidInput(str(e)) from None
        version = await repository.add(station_id, terms, start, actor.user_id)
        await self.audit.record(AuditRecord(
            actor=Actor(actor.user_id, actor.name), action=AUDIT_ACTION, outcome="done",
            operator_id=operator_id, station_id=station_id,
            target=f"station {station_id} tariff v{version.version}",
            details={
                "version": version.version,
                "effective_from": start.isoformat(),
                "effective_from_local": start.astimezone(SHANGHAI).isoformat(),
                "backdated": backdate,
                "terms": rules.terms_json(terms),
            },
        ))
        return version

    # -- reading (anyone) ------------------------------------------------------------------------------------

    async def _require_station(self, station_id: int) -> None:
        if await self.access.station_operator(station_id) is None:
            raise NotFound(f"station {station_id} does not exist")

    async def versions(self, station_id: int) -> list[TariffVersion]:
        """Every version of the station, in the order of publication."""
        await self._require_station(station_id)
        return await repository.versions(station_id)

    async def in_force(self, station_id: int, at: datetime | None = None) -> TariffVersion | None:
        """The version in force at ``at`` (None: now); None if there is none yet."""
        await self._require_station(station_id)
        return await repository.in_force(station_id, as_utc(at) if at is not None else self.clock.now())

    async def versions_for(self, station_id: int, start: datetime, end: datetime) -> list[TariffVersion]:
        """The versions in force at some instant of ``[start, end]``: what a session in it is priced by."""
        start, end = as_utc(start), as_utc(end)
        if end < start:
            raise InvalidInput("the interval ends before it starts")
        await self._require_station(station_id)
        return rules.relevant(await repository.versions(station_id, until=end), start, end)

    async def price_now(self, station_id: int, at: datetime | None = None) -> PriceNow:
        """The price in force now (or at ``at``) and its next change; NoTariff if none is in force."""
        when = as_utc(at) if at is not None else self.clock.now()
        await self._require_station(station_id)
        found = rules.price_now(await repository.versions(station_id), when)
        if found is None:
            local = when.astimezone(SHANGHAI)
            raise NoTariff(f"station {station_id} has no tariff in force at {local:%Y-%m-%d %H:%M} (Shanghai)")
        return found

    # -- costing ---------------------------------------------------------------------------------------------

    async def cost(
        self, station_id: int, readings: Sequence[Reading], *, end: datetime | None = None,
        charging_ended_at: datetime | None = None,
    ) -> Cost:
        """The cost of a session at the station from its readings (see ``rules.cost``)."""
        if not readings:
            raise InvalidInput("a session's cost needs at least its start reading")
        last = max(as_utc(r.at) for r in readings)
        until = max(as_utc(end), last) if end is not None else last
        versions = await self.versions_for(station_id, as_utc(readings[0].at), until)
        return rules.cost(versions, readings, end=end, charging_ended_at=charging_ended_at)
