"""Test data made through the domain services (never by writing tables directly)."""

from __future__ import annotations

import itertools
from dataclasses import dataclass

from api.container import Services
from api.access.dto import Grant
from api.models import ChargePoint, Fleet, Station
from api.models.enums import ConnectorType, Role

_counter = itertools.count(1)


def unique(prefix: str) -> str:
    return f"{prefix}{next(_counter):05d}"


@dataclass
class Builders:
    services: Services

    async def station(
        self, name: str | None = None, latitude: float = 30.2741, longitude: float = 120.1551
    ) -> Station:
        operator = await self.services.stations.create_operator(unique("运营商"))
        return await self.services.stations.create_station(
            operator.id, name or unique("测试站"), latitude, longitude, address="测试地址", city="杭州市"
        )

    async def charge_point(
        self,
        station: Station | None = None,
        connectors: list[tuple[ConnectorType, int]] | None = None,
        charge_point_id: str | None = None,
    ) -> ChargePoint:
        station = station or await self.station()
        return await self.services.charge_points.register(
            charge_point_id or unique("CP-"),
            station.id,
            connectors or [(ConnectorType.GBT_DC, 120_000), (ConnectorType.GBT_AC, 7_000)],
        )

    async def vehicle(self) -> str:
        """A registered vehicle; returns its VIN (accepted as an id tag)."""
        vin = f"LTEST{next(_counter):012d}"
        await self.services.charging.register_vehicle(vin)
        return vin

    async def id_tag(self) -> str:
        tag = unique("TAG")
        await self.services.access.issue_id_tag(None, tag)
        return tag

    async def person(
        self, role: Role, *, operator_id: int | None = None, station_id: int | None = None,
        fleet_id: int | None = None, name: str | None = None,
    ) -> tuple[int, str]:
        """A person holding one role; returns (user id, access token). No password: tokens are made directly."""
        user = await self.services.access.create_user(
            None, name or unique(role.value), None, None, [Grant(role, operator_id, station_id, fleet_id)]
        )
        token = await self.services.access.token_for(user.id)
        return user.id, token.token

    async def admin_token(self) -> str:
        return (await self.person(Role.PLATFORM_ADMIN))[1]

    async def fleet(self, operator_id: int) -> Fleet:
        return await self.services.access.create_fleet(None, operator_id, unique("车队"))
