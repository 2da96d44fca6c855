"""Every query of QR entry (the ``connector_code`` table)."""

from __future__ import annotations

from collections.abc import Callable

from tortoise.exceptions import IntegrityError

from api.models import ConnectorCode

CREATE_ATTEMPTS = 5


async def by_code(code: str) -> ConnectorCode | None:
    return await ConnectorCode.get_or_none(code=code)


async def for_connector(charge_point_id: str, connector_no: int) -> ConnectorCode | None:
    return await ConnectorCode.get_or_none(charge_point_id=charge_point_id, connector_no=connector_no)


async def for_piles(charge_point_ids: list[str]) -> list[ConnectorCode]:
    if not charge_point_ids:
        return []
    return await ConnectorCode.filter(charge_point_id__in=charge_point_ids)


async def create(charge_point_id: str, connector_no: int, new_code: Callable[[], str]) -> ConnectorCode:
    """The connector's code row, made now unless another request made it first. A code that collides with
    another connector's (unlikely at 50 bits) is drawn again."""
    for _ in range(CREATE_ATTEMPTS):
        try:
            return await ConnectorCode.create(
                code=new_code(), charge_point_id=charge_point_id, connector_no=connector_no
            )
        except IntegrityError:
            found = await for_connector(charge_point_id, connector_no)
            if found is not None:
                return found
    raise RuntimeError(f"no free QR code after {CREATE_ATTEMPTS} attempts")
