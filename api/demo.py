"""Demo data for ``chargeops serve --demo``: one operator, three stations in Hangzhou, six piles.

The id tags and VINs here are also the simulator's defaults, so ``serve --demo`` plus ``simulate`` charge
with no set-up. Coordinates are GCJ-02 (as read off WeChat's map).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

from api.access.dto import Grant
from api.access.passwords import hash_password
from api.charge_point.rules import PASSWORD_PROFILES
from api.container import Services
from api.models.enums import AccessMode, AccessRuleEffect, ConnectorType, Role, TariffTier
from api.policy.rules import window
from api.tariff.rules import time_of_use

log = logging.getLogger(__name__)

DEMO_OPERATOR = "杭州示范充电运营有限公司"
DEMO_ID_TAGS = tuple(f"DEMO{n:04d}" for n in range(1, 21))
DEMO_FLEET_TAGS = tuple(f"BUS{n:04d}" for n in range(1, 6))
"""Cards of the demo bus group, the only ones its terminus admits at night."""
"""RFID cards, accepted."""
DEMO_DRIVER_OPENID = "oDEMO0driver0openid0000000001"
DEMO_DRIVER_ALIPAY_ID = "2088000000000042"
DEMO_PARTNER = "杭州西湖文化广场物业管理有限公司"
"""Takes 30 % of the first station's orders."""
DEMO_TARIFF = time_of_use(
    [("00:00-08:00", TariffTier.VALLEY), ("08:00-09:00", TariffTier.FLAT), ("09:00-11:00", TariffTier.SHARP),
     ("11:00-13:00", TariffTier.FLAT), ("13:00-15:00", TariffTier.PEAK), ("15:00-17:00", TariffTier.SHARP),
     ("17:00-22:00", TariffTier.PEAK), ("22:00-24:00", TariffTier.VALLEY)],
    {TariffTier.SHARP: (12_000, 8_000), TariffTier.PEAK: (10_000, 8_000), TariffTier.FLAT: (7_000, 6_000),
     TariffTier.VALLEY: (3_500, 4_000)},
    note="尖峰平谷分时电价 + 服务费（演示）",
)
"""Time-of-use energy and service fees in 0.0001 yuan per kWh (demo figures in the range of Zhejiang's)."""
DEMO_VINS = (
    "LFV2A21K6M3000001",
    "LGXCE4CB8N0000002",
    "LSVAU6A38N2000003",
    "LNBSCU3H5PR000004",
    "LB37624S4PX000005",
    "LDC913L25N0000006",
    "LVGBPB9E9PG000007",
    "LHGRT5850P8000008",
    "LFP83ACC1P1000009",
    "LS6A2E0M4PA000010",
)
"""Vehicles whose VIN is accepted as an id tag (VIN charging, 即插即充)."""


@dataclass(frozen=True)
class DemoStation:
    name: str
    address: str
    latitude: float
    longitude: float
    opening_hours: str


DEMO_STATIONS = (
    DemoStation("西湖文化广场充电站", "浙江省杭州市拱墅区中山北路西湖文化广场地下停车场B2", 30.277412, 120.168985, "00:00-24:00"),
    DemoStation("钱江新城市民中心充电站", "浙江省杭州市上城区钱江新城市民中心P3停车场", 30.245163, 120.215321, "06:00-23:00"),
    DemoStation("滨江物联网街公交充电站", "浙江省杭州市滨江区物联网街公交首末站", 30.192375, 120.210946, "00:00-24:00"),
)

# (connector type, max power W) of both connectors of a demo pile, by pile index 0..5
DEMO_PILE_KINDS = (
    (ConnectorType.GBT_DC, 120_000),
    (ConnectorType.GBT_DC, 120_000),
    (ConnectorType.GBT_AC, 7_000),
    (ConnectorType.GBT_DC, 120_000),
    (ConnectorType.GBT_AC, 7_000),
    (ConnectorType.GBT_AC, 7_000),
)


DEMO_PASSWORD = "chargeops-demo"
"""Password of the demo staff accounts (admin, operator, station1, fleet). Demo data only: never in production."""
DEMO_FLEET = "杭州公交集团"
DEMO_LOGINS = ("admin", "operator", "station1", "fleet", "driver")


def demo_pile_id(n: int) -> str:
    """``DEMO-0001`` for n = 1."""
    return f"DEMO-{n:04d}"


def demo_pile_password(n: int) -> str:
    """``DEMO-0001-chargeops``: the demo pile's Basic auth password (security profiles 1 and 2), seeded with the
    demo and sent by ``chargeops simulate``. Known to anyone who reads this: demo data only, like DEMO_PASSWORD."""
    return f"{demo_pile_id(n)}-chargeops"


def demo_pile_kind(n: int) -> tuple[ConnectorType, int]:
    """The demo mix repeats for piles beyond the first six (``--demo-piles``)."""
    return DEMO_PILE_KINDS[(n - 1) % len(DEMO_PILE_KINDS)]


async def seed_demo(services: Services, piles: int = 6) -> bool:
    """Fill an empty database with the demo; returns False (and changes nothing) if it has stations."""
    if await services.stations.count() > 0:
        return False
    operator = await services.stations.create_operator(DEMO_OPERATOR)
    stations = [
        await services.stations.create_station(
            operator.id, s.name, s.latitude, s.longitude, address=s.address, city="杭州市", opening_hours=s.opening_hours
        )
        for s in DEMO_STATIONS
    ]
    for n in range(1, piles + 1):
        station = stations[(n - 1) * len(stations) // piles]
        kind = demo_pile_kind(n)
        await services.charge_points.register(demo_pile_id(n), station.id, [kind, kind])
    await _seed_pile_passwords(services, piles)
    fleet = await services.access.create_fleet(None, operator.id, DEMO_FLEET)
    users = {}
    for login, name, grant in (
        ("admin", "平台管理员", Grant(Role.PLATFORM_ADMIN)),
        ("operator", "运营管理员", Grant(Role.OPERATOR_ADMIN, operator_id=operator.id)),
        ("station1", "站长", Grant(Role.STATION_MANAGER, station_id=stations[0].id)),
        ("fleet", "车队管理员", Grant(Role.FLEET_MANAGER, fleet_id=fleet.id)),
        ("driver", "演示车主", Grant(Role.DRIVER)),
    ):
        users[login] = await services.access.create_user(None, name, login, DEMO_PASSWORD, [grant])
    # the demo driver as if logged in through both mini-programs, with 50.00 of play money in the wallet
    driver = users["driver"].id
    await services.access.link_payer(driver, "wechatpay", DEMO_DRIVER_OPENID)
    await services.access.link_payer(driver, "alipay", DEMO_DRIVER_ALIPAY_ID)
    await services.ledger.top_up(driver, "sandbox", 5000, key="demo-wallet-top-up", memo="demo play money")
    for tag in DEMO_ID_TAGS:
        await services.access.issue_id_tag(None, tag)
    for tag in DEMO_FLEET_TAGS:
        await services.access.issue_id_tag(None, tag, fleet_id=fleet.id)
    # the bus terminus admits only the bus group's cards at night, when the buses charge (valley tariff)
    admin = (await services.access.token_for(users["admin"].id)).viewer
    depot = stations[-1].id
    await services.station_access.add_rule(admin, depot, AccessRuleEffect.ALLOW, fleet_id=fleet.id, note="公交夜间充电")
    await services.station_access.set_policy(
        admin, depot, AccessMode.PUBLIC, [window(range(1, 8), "22:00", "06:00", AccessMode.FLEET_ONLY)]
    )
    for number, vin in enumerate(DEMO_VINS, start=1):
        await services.charging.register_vehicle(vin, plate=f"浙AD{number:05d}")
    # prices (in force since yesterday, so sessions the simulator backdates are priced) and a property partner
    since = services.clock.now() - timedelta(days=1)
    for station in stations:
        await services.tariffs.publish(admin, station.id, DEMO_TARIFF, since, backdate=True)
    partner = await services.orders.create_partner(
        admin, operator.id, DEMO_PARTNER, wechat=("MERCHANT_ID", "1900000110", DEMO_PARTNER),
        alipay=("userId", "2088000000000777", DEMO_PARTNER),
    )
    await services.orders.add_share(admin, stations[0].id, partner.id, 3000, since)
    return True


async def _seed_pile_passwords(services: Services, piles: int) -> None:
    """Under a default profile that asks for a password (DESIGN §4: piles authenticate), each demo pile gets
    its own, which the simulator sends; under the development default of 0 they get none, so clients that send
    no credentials (the benchmarks' piles) still connect. Profile 3 needs certificates the demo cannot make."""
    default = services.settings.ocpp_default_security_profile
    if default == 3:
        log.warning("demo piles have no client certificates: under security profile 3 they cannot connect")
    if default not in PASSWORD_PROFILES:
        return
    # one at a time: an argon2 hash holds 64 MiB while it runs (about 50 ms each)
    for n in range(1, piles + 1):
        await services.charge_points.set_password_hash(demo_pile_id(n), await hash_password(demo_pile_password(n)))
