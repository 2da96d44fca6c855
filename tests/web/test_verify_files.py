"""Domain verification files of the QR-code rules: WeChat looks for its file in the rule's last directory
(``/q/``) or at the root, Alipay at the root, HTTP 200 and no redirect. Only configured names are served."""

from __future__ import annotations

from dataclasses import replace

import httpx
import pytest
from starlette.applications import Starlette

from api.settings import Settings, SettingsError
from api.web.qr import qr_routes, verify_file_routes
from tests.fakes.serve import serve
from tests.web.conftest import VERIFY_FILES

FILES = (("MP_verify_a1B2c3.txt", "a1B2c3d4e5f6"), ("alipay-0815.txt", "x+y/z==?&#$"))


@pytest.fixture(scope="module")
async def base(server):
    settings = replace(server.services.settings, qr_verify_files=FILES)
    async with serve(Starlette(routes=qr_routes(replace(server.services, settings=settings)))) as url:
        yield url


@pytest.fixture
async def client(base):
    async with httpx.AsyncClient(base_url=base, timeout=10, follow_redirects=False) as client:
        yield client


def test_the_setting_is_a_list_of_name_and_content():
    # when
    raw = " MP_verify_a1B2c3.txt=a1B2c3d4e5f6 , alipay-0815.txt=x+y/z==?&#$,"
    settings = Settings.from_env({"CHARGEOPS_QR_VERIFY_FILES": raw})

    # then: content is everything after the first "="
    assert settings.qr_verify_files == FILES
    assert Settings.from_env({}).qr_verify_files == ()


@pytest.mark.parametrize("raw", [
    "../etc/passwd.txt=x", "a/b.txt=x", "a\\b.txt=x", ".txt=x", "a.b.txt=x", "a.TXT=x", "a.html=x", "a.txt",
    "a.txt=", "a.txt=two words", "%2e%2e.txt=x", "a.txt\n=x", "á.txt=x", "a.txt=x,a.txt=y",
])
def test_bad_names_and_contents_are_refused_at_start(raw):
    with pytest.raises(SettingsError, match="QR_VERIFY_FILES"):
        Settings.from_env({"CHARGEOPS_QR_VERIFY_FILES": raw})


def test_settings_made_in_code_are_checked_too():
    with pytest.raises(ValueError, match="verification file names"):
        verify_file_routes((("../secret.txt", "x"),))


async def test_each_file_is_served_as_text_at_the_root_and_in_the_rule_directory(client):
    for name, content in FILES:
        for path in (f"/{name}", f"/q/{name}"):
            # when
            response = await client.get(path)

            # then: the content exactly, 200, no redirect
            assert response.status_code == 200, path
            assert response.headers["content-type"] == "text/plain; charset=utf-8"
            assert response.text == content
            head = await client.head(path)
            assert head.status_code == 200 and head.content == b""


async def test_nothing_else_is_served(client):
    raw_paths = [
        "/other.txt", "/q/other.txt", "/mp_verify_a1b2c3.txt", "/MP_verify_a1B2c3.txt.bak",
        "/x/MP_verify_a1B2c3.txt", "/q/q/MP_verify_a1B2c3.txt", "/%2e%2e/MP_verify_a1B2c3.txt",
        "/q/%2e%2e/%2e%2e/etc/passwd",
        "/..%2f..%2fetc%2fpasswd", "/q/..%2fpyproject.toml", "/pyproject.toml", "/etc/passwd",
    ]
    for raw_path in raw_paths:
        response = await client.get(httpx.URL(client.base_url).copy_with(raw_path=raw_path.encode()))
        assert response.status_code == 404, raw_path
    for name, _ in FILES:
        assert (await client.post(f"/{name}")).status_code == 405


async def test_the_node_serves_the_files_of_its_environment(node):
    # given: a node started with CHARGEOPS_QR_VERIFY_FILES (tests/web/conftest.py)
    async with httpx.AsyncClient(base_url=node.base_url, timeout=10, follow_redirects=False) as client:
        for name, content in VERIFY_FILES.items():
            for path in (f"/{name}", f"/q/{name}"):
                # when
                response = await client.get(path)
                # then
                assert (response.status_code, response.text) == (200, content), path
                assert response.headers["content-type"].startswith("text/plain")
        assert (await client.get("/unknown.txt")).status_code == 404
        assert (await client.get("/healthz")).status_code == 200  # the root routes are as they were
