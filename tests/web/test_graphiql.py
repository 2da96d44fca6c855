"""GraphiQL is served by us and needs no internet: the page names only our own assets, and we serve them."""

from __future__ import annotations

import json
import re

import httpx
from graphql import parse, validate

from api.graphql.schema import schema
from api.web.graphiql import DEFAULT_QUERY, STATIC_DIR, STATIC_PREFIX, graphiql_html

CONTENT_TYPES = {".js": ("text/javascript", "application/javascript"), ".css": ("text/css",)}


def referenced_assets(page: str) -> list[str]:
    return re.findall(r'(?:src|href)="([^"]+)"', page)


def test_page_loads_only_our_own_assets():
    page = graphiql_html()
    assets = referenced_assets(page)
    assert assets, page
    assert all(asset.startswith(f"{STATIC_PREFIX}/") for asset in assets)
    assert "http://" not in page and "https://" not in page and "//cdn" not in page
    for asset in assets:
        assert (STATIC_DIR / asset.removeprefix(f"{STATIC_PREFIX}/")).is_file(), asset


def test_vendored_assets_fetch_nothing_from_the_internet():
    css = (STATIC_DIR / "graphiql.min.css").read_text(encoding="utf-8")
    assert "@import" not in css
    assert not re.search(r"url\(\s*['\"]?(https?:)?//", css)  # fonts are data: URLs


async def test_server_serves_the_page_and_every_asset(server):
    async with httpx.AsyncClient(base_url=server.base_url, timeout=10) as client:
        page = await client.get("/graphql", headers={"Accept": "text/html"})
        assert page.status_code == 200
        for asset in referenced_assets(page.text):
            response = await client.get(asset)
            assert response.status_code == 200, asset
            suffix = asset[asset.rfind("."):]
            assert response.headers["content-type"].split(";")[0] in CONTENT_TYPES[suffix], asset
            assert len(response.content) > 100


def test_injected_values_cannot_break_out_of_the_script():
    page = graphiql_html(endpoint="/graphql</script><script>alert(1)</script>")
    assert "<script>alert(1)" not in page
    config = re.search(r'<script id="chargeops-graphiql-config" type="application/json">(.*?)</script>', page, re.S)
    assert config is not None
    assert json.loads(config.group(1))["endpoint"] == "/graphql</script><script>alert(1)</script>"


def test_default_query_is_valid_against_our_schema():
    assert validate(schema._schema, parse(DEFAULT_QUERY)) == []
