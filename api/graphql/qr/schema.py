"""What a scanned QR code stands for: the mini-programs call this with the URL they were opened with."""

from __future__ import annotations

import strawberry

from api.graphql.context import Info
from api.graphql.enums import ConnectorStatus, ConnectorType
from api.graphql.errors import maps_domain_errors
from api.qr.dto import ConnectorEntry


@strawberry.type(description="A connector as its QR code names it.")
class ScannedConnector:
    code: str
    url: str = strawberry.field(description="What the QR image holds: {public URL}/q/{code}.")
    station_id: strawberry.ID | None
    station_name: str
    station_address: str
    charge_point_id: strawberry.ID
    connector_no: int
    kind: ConnectorType
    max_power_w: int
    status: ConnectorStatus
    pile_online: bool

    @classmethod
    def of(cls, e: ConnectorEntry) -> ScannedConnector:
        return cls(
            code=e.code, url=e.url, station_id=strawberry.ID(str(e.station_id)) if e.station_id else None,
            station_name=e.station_name, station_address=e.station_address,
            charge_point_id=strawberry.ID(e.charge_point_id), connector_no=e.connector_no, kind=e.kind,
            max_power_w=e.max_power_w, status=e.status, pile_online=e.pile_online,
        )


def _code_of(scanned: str) -> str:
    """The code from what the app was opened with: the whole URL (WeChat ``q``, Alipay ``qrCode``) or the code."""
    return scanned.strip().rstrip("/").rsplit("/", 1)[-1]


@strawberry.type
class QrQueries:
    @strawberry.field(description="The connector a scanned QR code names (no login needed): pass the code or the "
                      "whole URL the mini-program was opened with (WeChat options.q decoded, Alipay query.qrCode).")
    @maps_domain_errors
    async def scanned_connector(self, info: Info, scanned: str) -> ScannedConnector:
        return ScannedConnector.of(await info.context.services.qr.resolve(_code_of(scanned)))
