"""QR entry over plain HTTP: ``/q/{code}`` for whoever scans a connector's sticker, its images, and the
printable sheet of a station.

``GET /q/{code}``: WeChat's in-app browser (``MicroMessenger``) and Alipay's (``AlipayClient``) get a page
that opens their mini-program at the connector page (WeChat: plaintext URL Scheme, with the QR image to
long-press as a fallback; Alipay: ``alipays://``), passing the URL on as the scan would (``q`` / ``qrCode``).
Any other browser gets a small zh-CN landing page with the station, pile, connector and its status, and
links to both mini-programs. An unknown code is a zh-CN 404 page.
``GET /q/{code}.png`` and ``.svg``: the QR image of the connector's URL (only for codes that exist).
``GET /stations/{id}/qr-sheet``: an A4 page with one labelled code per connector, for someone who may read
the station's pile details (``Authorization: Bearer <token>``); codes are made for connectors that had none.
``GET /{name}.txt`` and ``GET /q/{name}.txt``: the domain verification files of the QR-code rules
(``CHARGEOPS_QR_VERIFY_FILES``); WeChat looks in the rule's last directory (``/q/``) or the root, Alipay at
the root. Only the configured names are routes, so any other name is the usual 404 and no path reaches a disk.

Every value that comes from data is HTML-escaped by :func:`render`.
"""

from __future__ import annotations

import html
from collections.abc import Awaitable, Callable
from functools import cache
from pathlib import Path
from string import Template
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, Response
from starlette.routing import Route

from api.access.dto import Permission
from api.access.errors import Forbidden, Unauthenticated
from api.container import Services
from api.core.errors import NotFound
from api.qr import images, rules
from api.qr.dto import ConnectorEntry
from api.qr.errors import UnknownCode
from api.qr.rules import ClientKind
from api.qr.service import QrService
from api.settings import VERIFY_FILE_NAME

TEMPLATES = Path(__file__).parent / "templates"


class Safe(str):
    """Markup made here from escaped parts: :func:`render` inserts it as it is."""


@cache
def _template(name: str) -> Template:
    return Template((TEMPLATES / name).read_text(encoding="utf-8"))


def render(name: str, **values: object) -> str:
    """Fill ``templates/<name>``; every value is escaped unless it is :class:`Safe`."""
    escaped = {k: v if isinstance(v, Safe) else html.escape(str(v), quote=True) for k, v in values.items()}
    return _template(name).substitute(escaped, css=Safe(_template("qr_base.css").template))


def _attr(value: str) -> str:
    return html.escape(value, quote=True)


def _page(name: str, status_code: int = 200, **values: object) -> HTMLResponse:
    return HTMLResponse(
        render(name, **values),
        status_code=status_code,
        headers={"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"},
    )


def qr_routes(services: Services) -> list[Route]:
    settings = services.settings
    qr = QrService(settings.public_url, charge_points=services.charge_points, stations=services.stations)
    wechat_appid, alipay_app_id = settings.wechat_appid, settings.alipay_app_id

    def not_found(code: str) -> HTMLResponse:
        return _page("qr_not_found.html", 404, code=code[:32])

    def entry_values(entry: ConnectorEntry, client: ClientKind) -> dict[str, object]:
        return {
            "client": client.value,
            "station_name": entry.station_name or "充电站",
            "station_address": entry.station_address,
            "charge_point_id": entry.charge_point_id,
            "connector_no": entry.connector_no,
            "kind_label": rules.KIND_LABELS[entry.kind],
            "power_label": rules.power_label(entry.max_power_w),
            "status_label": rules.status_label(entry.status, entry.pile_online),
            "status_class": entry.status.value if entry.pile_online else "offline",
        }

    def open_links(entry: ConnectorEntry, only: ClientKind | None = None) -> Safe:
        links = []
        if wechat_appid and only in (None, ClientKind.WECHAT):
            href = rules.wechat_scheme(wechat_appid, entry.url)
            links.append(f'<a id="open-wechat" class="btn btn-wechat" href="{_attr(href)}">在微信小程序中打开</a>')
        if alipay_app_id and only in (None, ClientKind.ALIPAY):
            href = (
                rules.alipay_scheme(alipay_app_id, entry.url) if only == ClientKind.ALIPAY
                else rules.alipay_link(alipay_app_id, entry.url)
            )
            links.append(f'<a id="open-alipay" class="btn btn-alipay" href="{_attr(href)}">在支付宝小程序中打开</a>')
        return Safe("\n".join(links))

    async def entry(request: Request) -> Response:
        raw = request.path_params["code"]
        try:
            found = await qr.resolve(raw)
        except UnknownCode:
            return not_found(raw)
        client = rules.client_kind(request.headers.get("user-agent", ""))
        values = entry_values(found, client)
        if client == ClientKind.OTHER:
            return _page("qr_landing.html", open_links=open_links(found), **values)
        links = open_links(found, only=client)
        if client == ClientKind.WECHAT:
            # inside WeChat a scheme may be refused; long-pressing the code always reaches the mini-program
            img = f'<img class="qr" src="/q/{quote(found.code)}.png" alt="充电枪二维码">'
            hint = Safe(f'{img}<p class="muted">长按识别上方二维码，在小程序中支付并开始充电。</p>')
        else:
            hint = Safe('<p class="muted">若未自动跳转，请点击上方按钮，或返回支付宝首页用「扫一扫」扫描充电桩上的二维码。</p>')
        target = "open-wechat" if client == ClientKind.WECHAT else "open-alipay"
        redirect = Safe(
            f'<script>(function(){{var a=document.getElementById("{target}");'
            f"if(a){{location.replace(a.href);}}}})();</script>"
            if links else ""
        )
        return _page("qr_open.html", open_links=links, hint=hint, redirect=redirect, **values)

    async def image(request: Request, kind: str) -> Response:
        raw = request.path_params["code"]
        try:
            found = await qr.resolve(raw)
        except UnknownCode:
            return not_found(raw)
        headers = {"Cache-Control": "public, max-age=86400", "X-Content-Type-Options": "nosniff"}
        if kind == "png":
            return Response(images.png(found.url), media_type="image/png", headers=headers)
        return Response(images.svg(found.url), media_type="image/svg+xml", headers=headers)

    async def png(request: Request) -> Response:
        return await image(request, "png")

    async def svg(request: Request) -> Response:
        return await image(request, "svg")

    async def sheet(request: Request) -> Response:
        station_id = request.path_params["station_id"]
        header = request.headers.get("authorization", "")
        try:
            if not header.startswith("Bearer "):
                raise Unauthenticated("the sheet needs 'Authorization: Bearer <token>'")
            viewer = await services.access.viewer_from_token(header.removeprefix("Bearer ").strip())
            await services.access.require_station(viewer, Permission.READ_PILE_DETAILS, station_id)
            codes = await qr.codes_for_station(station_id)
        except Unauthenticated as error:
            return _page("qr_error.html", 401, message=error.message)
        except Forbidden as error:
            return _page("qr_error.html", 403, message=error.message)
        except NotFound as error:
            return _page("qr_error.html", 404, message=error.message)
        labels = "\n".join(
            '<div class="label">'
            f'<img src="/q/{quote(e.code)}.svg" alt="{_attr(e.url)}">'
            f'<p class="station">{html.escape(codes.station_name)}</p>'
            f'<p class="place">{html.escape(e.charge_point_id)} 号桩 · {e.connector_no} 号枪'
            f"{html.escape(' · ' + rules.KIND_LABELS[e.kind])}</p>"
            f'<p class="code">{html.escape(e.code)}</p>'
            '<p class="hint">微信 / 支付宝 扫码充电</p>'
            "</div>"
            for e in codes.entries
        )
        return _page(
            "qr_sheet.html", station_name=codes.station_name, station_address=codes.station_address,
            count=len(codes.entries), labels=Safe(labels),
        )

    return [
        *verify_file_routes(settings.qr_verify_files),
        Route("/q/{code:str}.png", png, methods=["GET"]),
        Route("/q/{code:str}.svg", svg, methods=["GET"]),
        Route("/q/{code:str}", entry, methods=["GET"]),
        Route("/stations/{station_id:int}/qr-sheet", sheet, methods=["GET"]),
    ]


def verify_file_routes(files: tuple[tuple[str, str], ...]) -> list[Route]:
    """``/{name}`` and ``/q/{name}`` for each (name, content)."""
    bad = [name for name, _ in files if not VERIFY_FILE_NAME.fullmatch(name)]
    if bad:  # Settings.from_env refuses these; a Settings built in code is checked here
        raise ValueError(f"verification file names must match {VERIFY_FILE_NAME.pattern}: {bad}")

    def serve(content: str) -> Callable[[Request], Awaitable[Response]]:
        async def verify_file(request: Request) -> Response:
            return PlainTextResponse(
                content, headers={"Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff"}
            )

        return verify_file

    return [
        Route(path, serve(content), methods=["GET"])
        for name, content in files
        for path in (f"/{name}", f"/q/{name}")
    ]
