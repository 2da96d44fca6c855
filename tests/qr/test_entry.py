"""QR entry over real HTTP: stable codes, images that hold the URL, and what each scanner's browser gets.

api/app.py does not mount ``qr_routes`` yet, so the routes run here in a small Starlette app of their own
(``tests/fakes/serve.py``) over the session server's services and database. Once app.py has
``*qr_routes(services)``, ``base`` can become ``server.base_url``.
"""

from __future__ import annotations

import asyncio
import html
import os
import re
import sys
from dataclasses import replace

import httpx
import png
import pytest
import qrcode
import qrcode.constants
from starlette.applications import Starlette

from api.charge_point.errors import UnknownConnector
from api.qr.rules import MINIPROGRAM_PAGE
from api.qr.service import QrService
from api.web.qr import qr_routes
from tests.fakes.serve import serve
from tests.support.gql_client import data, gql
from tests.qr.test_rules import ALIPAY_UA, SAFARI_UA, WECHAT_UA

WECHAT_APPID = "wx0123456789abcdef"
ALIPAY_APP_ID = "2021004100000000"


@pytest.fixture(scope="module")
async def base(server):
    settings = replace(server.services.settings, wechat_appid=WECHAT_APPID, alipay_app_id=ALIPAY_APP_ID)
    app = Starlette(routes=qr_routes(replace(server.services, settings=settings)))
    async with serve(app) as url:
        yield url


@pytest.fixture
async def client(base):
    async with httpx.AsyncClient(base_url=base, timeout=10) as client:
        yield client


@pytest.fixture
def qr(server):
    return QrService(
        server.services.settings.public_url,
        charge_points=server.services.charge_points, stations=server.services.stations,
    )


def expected_matrix(url: str) -> list[list[bool]]:
    symbol = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=4)
    symbol.add_data(url)
    symbol.make(fit=True)
    return symbol.get_matrix()


async def test_each_connector_keeps_one_code(server, qr):
    # given
    station = await server.builders.station()
    pile = await server.builders.charge_point(station)

    # when
    first = await qr.code_for(pile.id, 1)
    again = await qr.code_for(pile.id, 1)
    other = await qr.code_for(pile.id, 2)
    sheet = await qr.codes_for_station(station.id)

    # then
    assert first == again != other
    assert [(e.charge_point_id, e.connector_no, e.code) for e in sheet.entries] == [
        (pile.id, 1, first), (pile.id, 2, other)
    ]
    assert qr.url(first) == f"{server.services.settings.public_url}/q/{first}"
    assert pile.id not in first


async def test_a_code_for_a_connector_that_does_not_exist_is_refused(server, qr):
    pile = await server.builders.charge_point()
    with pytest.raises(UnknownConnector):
        await qr.code_for(pile.id, 9)


async def test_png_holds_the_qr_symbol_of_the_url(server, qr, client):
    # given
    pile = await server.builders.charge_point()
    code = await qr.code_for(pile.id, 1)

    # when
    response = await client.get(f"/q/{code}.png")

    # then
    assert response.status_code == 200
    assert response.headers["content-type"] == "image/png"
    assert response.content.startswith(b"\x89PNG\r\n\x1a\n")
    width, height, rows, info = png.Reader(bytes=response.content).read_flat()
    modules = expected_matrix(qr.url(code))
    box = width // len(modules)
    assert width == height == box * len(modules)
    channels = info["planes"]
    size = len(modules)
    dark = [
        [rows[((y * box + box // 2) * width + x * box + box // 2) * channels] == 0 for x in range(size)]
        for y in range(size)
    ]
    assert dark == modules


async def test_svg_holds_the_qr_symbol_of_the_url(server, qr, client):
    # given
    pile = await server.builders.charge_point()
    code = await qr.code_for(pile.id, 2)

    # when
    response = await client.get(f"/q/{code}.svg")

    # then
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("image/svg+xml")
    drawn = {(int(x), int(y)) for x, y in re.findall(r"M(\d+),(\d+)H", response.text)}
    modules = expected_matrix(qr.url(code))
    assert drawn == {(x, y) for y, row in enumerate(modules) for x, dark in enumerate(row) if dark}


async def test_wechat_browser_is_sent_to_the_wechat_mini_program(server, qr, client):
    # given
    pile = await server.builders.charge_point()
    code = await qr.code_for(pile.id, 1)

    # when
    response = await client.get(f"/q/{code}", headers={"User-Agent": WECHAT_UA})

    # then
    assert response.status_code == 200
    page = response.text
    assert 'data-client="wechat"' in page
    link = html.unescape(re.search(r'id="open-wechat"[^>]*href="([^"]+)"', page).group(1))
    assert link.startswith(f"weixin://dl/business/?appid={WECHAT_APPID}&path={MINIPROGRAM_PAGE}&query=")
    assert httpx.URL(link).params["query"] == "q=" + qr.url(code).replace(":", "%3A").replace("/", "%2F")
    assert "location.replace" in page and "open-alipay" not in page
    assert f'src="/q/{code}.png"' in page  # long-press fallback inside WeChat


async def test_alipay_browser_is_sent_to_the_alipay_mini_program(server, qr, client):
    # given
    pile = await server.builders.charge_point()
    code = await qr.code_for(pile.id, 2)

    # when
    response = await client.get(f"/q/{code}", headers={"User-Agent": ALIPAY_UA})

    # then
    assert response.status_code == 200
    page = response.text
    assert 'data-client="alipay"' in page
    link = html.unescape(re.search(r'id="open-alipay"[^>]*href="([^"]+)"', page).group(1))
    assert link.startswith(
        f"alipays://platformapi/startapp?appId={ALIPAY_APP_ID}&page={MINIPROGRAM_PAGE}&query="
    )
    assert httpx.URL(link).params["query"] == "qrCode=" + qr.url(code).replace(":", "%3A").replace("/", "%2F")
    assert "location.replace" in page and "open-wechat" not in page


async def test_other_browsers_get_the_landing_page(server, qr, client):
    # given
    station = await server.builders.station(name="西湖文化广场充电站")
    pile = await server.builders.charge_point(station)
    code = await qr.code_for(pile.id, 2)

    # when
    response = await client.get(f"/q/{code.lower()}", headers={"User-Agent": SAFARI_UA})

    # then
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    page = response.text
    assert '<html lang="zh-CN">' in page and 'name="viewport"' in page
    assert 'data-client="other"' in page
    assert "西湖文化广场充电站" in page
    assert f'<dd id="pile">{pile.id}</dd>' in page
    assert '<dd id="connector">2 号枪</dd>' in page
    assert "国标交流 7 kW" in page
    assert ">离线<" in page  # the pile has never connected
    assert 'href="weixin://dl/business/?appid=' in page
    assert 'href="https://ds.alipay.com/?scheme=alipays' in page
    assert "<script" not in page


async def test_unknown_code_is_a_404_page_in_chinese(client):
    for path in ("/q/ZZZZZZZZZZ", "/q/not-a-code", "/q/ZZZZZZZZZZ.png", "/q/ZZZZZZZZZZ.svg"):
        response = await client.get(path, headers={"User-Agent": SAFARI_UA})
        assert response.status_code == 404, path
        assert "未找到这个充电枪" in response.text


async def test_names_from_data_are_escaped(server, qr, client):
    # given
    evil = '<script>alert(1)</script>"&'
    station = await server.builders.station(name=evil)
    pile = await server.builders.charge_point(station)
    code = await qr.code_for(pile.id, 1)

    for user_agent in (SAFARI_UA, WECHAT_UA, ALIPAY_UA):
        # when
        page = (await client.get(f"/q/{code}", headers={"User-Agent": user_agent})).text

        # then
        assert "<script>alert(1)" not in page
        assert "&lt;script&gt;alert(1)&lt;/script&gt;&quot;&amp;" in page

    sheet = await client.get(
        f"/stations/{station.id}/qr-sheet", headers={"Authorization": f"Bearer {server.admin_token}"}
    )
    assert sheet.status_code == 200
    assert "<script>alert(1)" not in sheet.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;&quot;&amp;" in sheet.text


async def test_station_sheet_has_one_labelled_code_per_connector(server, qr, client):
    # given
    station = await server.builders.station(name="滨江充电站")
    first = await server.builders.charge_point(station)
    second = await server.builders.charge_point(station)
    known = await qr.code_for(first.id, 2)

    # when
    response = await client.get(
        f"/stations/{station.id}/qr-sheet", headers={"Authorization": f"Bearer {server.admin_token}"}
    )

    # then
    assert response.status_code == 200
    page = response.text
    assert "@page{size:A4" in page
    labels = re.findall(r'<div class="label">(.*?)</div>', page)
    assert len(labels) == 4
    codes = await qr.codes_for_station(station.id)
    assert known in [e.code for e in codes.entries]
    for label, entry in zip(labels, codes.entries, strict=True):
        assert f'src="/q/{entry.code}.svg"' in label
        assert "滨江充电站" in label
        assert f"{entry.charge_point_id} 号桩 · {entry.connector_no} 号枪" in label
    assert {e.charge_point_id for e in codes.entries} == {first.id, second.id}


async def test_station_sheet_needs_a_token_and_a_station(server, client):
    station = await server.builders.station()
    assert (await client.get(f"/stations/{station.id}/qr-sheet")).status_code == 401
    missing = await client.get(
        "/stations/999999/qr-sheet", headers={"Authorization": f"Bearer {server.admin_token}"}
    )
    assert missing.status_code == 404


async def test_the_node_itself_serves_the_qr_entry(server, qr):
    # given: a connector's code; when: a phone's ordinary browser opens the URL on the node
    station = await server.builders.station()
    pile = await server.builders.charge_point(station)
    code = await qr.code_for(pile.id, 1)
    async with httpx.AsyncClient(base_url=server.base_url) as http:
        page = await http.get(f"/q/{code}", headers={"User-Agent": "Mozilla/5.0 (iPhone) Safari/604.1"})
        png = await http.get(f"/q/{code}.png")
    # then: the landing page of that station, and the image
    assert page.status_code == 200 and station.name in page.text
    assert png.status_code == 200 and png.content.startswith(b"\x89PNG")


async def test_a_mini_program_resolves_the_url_it_was_opened_with(server, qr):
    station = await server.builders.station()
    pile = await server.builders.charge_point(station)
    code = await qr.code_for(pile.id, 2)
    query = """query($s: String!) { c: scannedConnector(scanned: $s) { code stationName chargePointId connectorNo
      kind maxPowerW status pileOnline } }"""

    # when: WeChat hands over the whole URL (options.q, decoded), Alipay too (query.qrCode), or just the code
    for scanned in (qr.url(code), qr.url(code) + "/", code.lower()):
        found = (await data(server.base_url, query, {"s": scanned}))["c"]
        # then: the connector, without a login
        assert found == {"code": code, "stationName": station.name, "chargePointId": pile.id, "connectorNo": 2,
                         "kind": "GBT_AC", "maxPowerW": 7000, "status": "UNKNOWN", "pileOnline": False}
    unknown = await gql(server.base_url, query, {"s": "ZZZZZZZZZZ"})
    assert unknown["errors"][0]["extensions"]["code"] == "UNKNOWN_QR_CODE"


async def test_the_qr_command_writes_every_connectors_images(server, qr, tmp_path):
    # given: a station with one pile (two connectors), one of which already has its code
    station = await server.builders.station()
    pile = await server.builders.charge_point(station)
    known = await qr.code_for(pile.id, 1)
    env = {**os.environ, "CHARGEOPS_DATABASE_URL": server.services.settings.database_url,
           "CHARGEOPS_PUBLIC_URL": server.services.settings.public_url}

    # when
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "api", "qr", "--station", str(station.id), "--output", str(tmp_path), env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await process.communicate()

    # then: two PNG/SVG pairs named by pile, connector and code, and the URLs printed; the known code is kept
    assert process.returncode == 0, err.decode()
    pngs = sorted(p.name for p in tmp_path.glob("*.png"))
    assert len(pngs) == 2 and pngs[0] == f"{pile.id}-1-{known}.png"
    assert qr.url(known) in out.decode()
    assert all((tmp_path / name).read_bytes().startswith(b"\x89PNG") for name in pngs)
