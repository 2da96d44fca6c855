"""Pure rules of QR entry: codes, URLs, which app a browser belongs to, and the links that open each
mini-program at the connector page. No I/O.

The same URL serves every scanner (shared PAYMENTS.md C): WeChat and Alipay are configured with the prefix
``{public_url}/q/`` ("scan ordinary QR code to open the mini-program" / "associate ordinary QR code") and hand
the whole URL to the mini-program (``options.q`` / ``query.qrCode``). When the URL is opened as a web page
instead, the links below pass it on under the same names, so the mini-program's page reads it the same way.
"""

from __future__ import annotations

import re
import secrets
from enum import StrEnum
from urllib.parse import quote

from api.models.enums import ConnectorStatus, ConnectorType

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
"""Crockford's base32: no I, L, O or U, so a code read aloud or typed from a sticker survives."""
CODE_LENGTH = 10
"""50 random bits: not guessable, and short enough to type."""
_READ_AS = str.maketrans({"O": "0", "I": "1", "L": "1"})
_CODE = re.compile(f"[{ALPHABET}]{{{CODE_LENGTH}}}")

MINIPROGRAM_PAGE = "pages/connector/index"
"""The connector page of both mini-programs (no leading ``/``, no query: WeChat's scheme wants it so)."""
WECHAT_SCHEME_QUERY_MAX = 512
"""WeChat's plaintext URL Scheme takes at most 512 characters of url-encoded query."""


def new_code() -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))


def normalize_code(raw: str) -> str | None:
    """The code as stored, or None when ``raw`` cannot be one. Case, O/0 and I/L/1 are forgiven."""
    code = raw.strip().upper().translate(_READ_AS)
    return code if _CODE.fullmatch(code) else None


def qr_url(public_url: str, code: str) -> str:
    return f"{public_url.rstrip('/')}/q/{code}"


class ClientKind(StrEnum):
    WECHAT = "wechat"
    ALIPAY = "alipay"
    OTHER = "other"


def client_kind(user_agent: str) -> ClientKind:
    """WeChat's in-app browser says ``MicroMessenger``, Alipay's ``AlipayClient`` (PAYMENTS.md C3)."""
    if "MicroMessenger" in user_agent:
        return ClientKind.WECHAT
    if "AlipayClient" in user_agent:
        return ClientKind.ALIPAY
    return ClientKind.OTHER


def wechat_scheme(appid: str, url: str, env_version: str = "release") -> str:
    """WeChat's plaintext URL Scheme to the connector page; the page gets ``q`` as a scan would give it."""
    query = quote(f"q={quote(url, safe='')}", safe="")
    if len(query) > WECHAT_SCHEME_QUERY_MAX:
        raise ValueError(
            f"the scheme query is {len(query)} characters, WeChat takes {WECHAT_SCHEME_QUERY_MAX}"
        )
    return (
        f"weixin://dl/business/?appid={quote(appid, safe='')}&path={MINIPROGRAM_PAGE}"
        f"&query={query}&env_version={env_version}"
    )


def alipay_scheme(app_id: str, url: str) -> str:
    """Alipay's scheme to the connector page; the page gets ``qrCode`` as a scan would give it."""
    query = quote(f"qrCode={quote(url, safe='')}", safe="")
    return (
        f"alipays://platformapi/startapp?appId={quote(app_id, safe='')}"
        f"&page={MINIPROGRAM_PAGE}&query={query}"
    )


def alipay_link(app_id: str, url: str) -> str:
    """The https form of :func:`alipay_scheme`, for browsers that do not follow ``alipays://`` from a page."""
    return f"https://ds.alipay.com/?scheme={quote(alipay_scheme(app_id, url), safe='')}"


STATUS_LABELS: dict[ConnectorStatus, str] = {
    ConnectorStatus.AVAILABLE: "空闲",
    ConnectorStatus.PREPARING: "已插枪",
    ConnectorStatus.CHARGING: "充电中",
    ConnectorStatus.SUSPENDED_EV: "暂停（车辆）",
    ConnectorStatus.SUSPENDED_EVSE: "暂停（充电桩）",
    ConnectorStatus.FINISHING: "充电结束",
    ConnectorStatus.RESERVED: "已预约",
    ConnectorStatus.UNAVAILABLE: "不可用",
    ConnectorStatus.FAULTED: "故障",
    ConnectorStatus.UNKNOWN: "未知",
}
KIND_LABELS: dict[ConnectorType, str] = {
    ConnectorType.GBT_DC: "国标直流",
    ConnectorType.GBT_AC: "国标交流",
    ConnectorType.CCS2: "CCS2",
    ConnectorType.TYPE2: "Type 2",
    ConnectorType.CHADEMO: "CHAdeMO",
    ConnectorType.OTHER: "其他",
}
OFFLINE_LABEL = "离线"


def status_label(status: ConnectorStatus, pile_online: bool) -> str:
    """What a driver reads: a pile that is not connected is offline, whatever its connectors last said."""
    return STATUS_LABELS[status] if pile_online else OFFLINE_LABEL


def power_label(max_power_w: int) -> str:
    return f"{max_power_w / 1000:g} kW" if max_power_w > 0 else ""
