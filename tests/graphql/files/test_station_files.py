"""Station files through GraphQL multipart uploads, back byte-identical through signed links, on both backends:
the local directory (the session's server) and S3-compatible storage (a second node against moto's server)."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from typing import Any

import httpx
import pytest

from api.models.enums import Role
from api.settings import Settings
from tests.conftest import RunningServer
from tests.files.test_storage import moto_endpoint  # noqa: F401  (the shared S3 server fixture)

PDF = b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\n" + os.urandom(200_000) + b"\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + os.urandom(5000)

UPLOAD = """mutation($s: ID!, $c: String!, $f: Upload!, $r: ID) { f: uploadStationFile(stationId: $s, category: $c,
  file: $f, replacesFileId: $r) { id name category current { version sizeBytes contentType sha256 } } }"""
LINK = "mutation($id: ID!, $v: Int) { l: stationFileLink(fileId: $id, version: $v) { url expiresAt } }"


async def upload(server: RunningServer | str, token: str | None, station_id: int, name: str, data: bytes,
                 category: str = "permit", replaces: str | None = None) -> dict[str, Any]:
    operations = {"query": UPLOAD, "variables": {"s": station_id, "c": category, "f": None, "r": replaces}}
    headers = {"Accept": "application/graphql-response+json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    base_url = server if isinstance(server, str) else server.base_url
    async with httpx.AsyncClient(base_url=base_url, timeout=30) as client:
        response = await client.post(
            "/graphql", headers=headers,
            data={"operations": json.dumps(operations), "map": json.dumps({"0": ["variables.f"]})},
            files={"0": (name, data, "application/octet-stream")},
        )
    body: dict[str, Any] = response.json()
    body["_status"] = response.status_code
    return body


async def gql(server: RunningServer | str, query: str, variables: dict[str, Any], token: str) -> dict[str, Any]:
    base_url = server if isinstance(server, str) else server.base_url
    async with httpx.AsyncClient(base_url=base_url, timeout=30) as client:
        response = await client.post("/graphql", json={"query": query, "variables": variables},
                                     headers={"Authorization": f"Bearer {token}"})
    return response.json()  # type: ignore[no-any-return]


async def fetch(url: str) -> httpx.Response:
    async with httpx.AsyncClient(timeout=30) as client:
        return await client.get(url)


@dataclass
class Place:
    """Where a station manager works: a node's URL, their token, their station."""

    base_url: str
    token: str
    station_id: int


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
async def s3_place(moto_endpoint, tmp_path_factory) -> AsyncIterator[Place]:
    """A second node, in its own process (`chargeops serve --demo`), storing files in S3 (moto's server)."""
    port = _free_port()
    env = {
        **os.environ,
        "CHARGEOPS_DATABASE_URL": f"sqlite://{tmp_path_factory.mktemp('s3db') / 'db.sqlite3'}",
        "CHARGEOPS_PUBLIC_URL": f"http://127.0.0.1:{port}",
        "CHARGEOPS_FILES_BACKEND": "s3",
        "CHARGEOPS_S3_ENDPOINT_URL": moto_endpoint,
        "CHARGEOPS_S3_BUCKET": "chargeops-files",
        "CHARGEOPS_S3_ACCESS_KEY_ID": "testing",
        "CHARGEOPS_S3_SECRET_ACCESS_KEY": "testing",
        "CHARGEOPS_SECRET_KEY": "s3-node-" + "y" * 32,
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "api", "serve", "--demo", "--port", str(port), "--log-level", "warning",
        env=env, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
    )
    base_url = f"http://127.0.0.1:{port}"
    try:
        async with httpx.AsyncClient(base_url=base_url) as client:
            for _ in range(300):
                try:
                    if (await client.get("/healthz")).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if process.returncode is not None:
                    raise AssertionError((await process.stderr.read()).decode())  # type: ignore[union-attr]
                await asyncio.sleep(0.1)
            login = await client.post("/graphql", json={"query": """mutation { login(login: "station1",
                password: "chargeops-demo") { token me { grants { stationId } } } }"""})
            result = login.json()["data"]["login"]
        yield Place(base_url, result["token"], int(result["me"]["grants"][0]["stationId"]))
    finally:
        process.terminate()
        await process.wait()


async def test_round_trip_on_the_local_directory(server):
    station = await server.builders.station()
    _, manager = await server.builders.person(Role.STATION_MANAGER, station_id=station.id)
    await upload_replace_download_and_delete(Place(server.base_url, manager, station.id))


async def test_round_trip_on_s3_compatible_storage(s3_place):
    await upload_replace_download_and_delete(s3_place)


async def upload_replace_download_and_delete(place: Place) -> None:
    # given: a station manager of a station, on a node with local or S3 storage
    node, manager, station_id = place.base_url, place.token, place.station_id

    # when: a permit is uploaded, then replaced by a new version
    first = await upload(node, manager, station_id, "施工许可证.pdf", PDF)
    assert first["_status"] == 200, first
    made = first["data"]["f"]
    second_bytes = PDF.replace(b"Catalog", b"Catalogue")
    second = (await upload(node, manager, station_id, "施工许可证-2026.pdf", second_bytes, replaces=made["id"]))
    replaced = second["data"]["f"]

    # then: recorded by content, with checksum, and both versions come back byte-identical
    import hashlib

    assert made["current"] == {"version": 1, "sizeBytes": len(PDF), "contentType": "application/pdf",
                               "sha256": hashlib.sha256(PDF).hexdigest()}
    assert (replaced["id"], replaced["current"]["version"], replaced["name"]) == (made["id"], 2, "施工许可证-2026.pdf")
    for version, expected in ((1, PDF), (2, second_bytes), (None, second_bytes)):
        link = (await gql(node, LINK, {"id": made["id"], "v": version}, manager))["data"]["l"]
        response = await fetch(link["url"])
        assert response.status_code == 200
        assert response.content == expected
        assert response.headers["content-type"].startswith("application/pdf")
        assert "filename*=UTF-8''" in response.headers["content-disposition"]

    listed = await gql(node, "query($s: ID!) { stationFiles(stationId: $s) { id current { version } } }",
                       {"s": station_id}, manager)
    assert listed["data"]["stationFiles"] == [{"id": made["id"], "current": {"version": 2}}]

    # when: deleted, its links stop working and it leaves the list
    link = (await gql(node, LINK, {"id": made["id"], "v": None}, manager))["data"]["l"]
    assert (await gql(node, "mutation($id: ID!) { deleteStationFile(fileId: $id) }", {"id": made["id"]},
                      manager))["data"] == {"deleteStationFile": True}
    assert (await fetch(link["url"])).status_code in (403, 404)
    listed = await gql(node, "query($s: ID!) { stationFiles(stationId: $s) { id } }", {"s": station_id}, manager)
    assert listed["data"]["stationFiles"] == []


async def test_tampered_links_names_types_sizes_and_strangers_are_refused(server):
    station = await server.builders.station()
    _, manager = await server.builders.person(Role.STATION_MANAGER, station_id=station.id)
    _, partner = await server.builders.person(Role.PARTNER, station_id=station.id)

    # a path in the name never reaches the disk: the name is cleaned, the key is ours
    sneaky = (await upload(server, manager, station.id, "../../../etc/passwd.pdf", PDF))["data"]["f"]
    assert sneaky["name"] == "passwd.pdf"
    files_dir = server.services.settings.files_dir
    stored = [os.path.join(d, f) for d, _, fs in os.walk(files_dir) for f in fs]
    assert all(os.path.realpath(p).startswith(os.path.realpath(files_dir)) for p in stored)
    assert not any("passwd" in p for p in stored)

    # a PNG named .pdf, and an executable-looking blob as a photo, are refused by their content
    mismatch = await upload(server, manager, station.id, "report.pdf", PNG)
    assert mismatch["errors"][0]["extensions"]["code"] == "FILE_TYPE_MISMATCH"
    binary = await upload(server, manager, station.id, "photo", b"MZ\x90\x00" + os.urandom(1000), category="photo")
    assert binary["errors"][0]["extensions"]["code"] == "INVALID_INPUT"

    # too large: refused before the body is read (Content-Length) with 413
    limit = server.services.settings.files_max_bytes
    oversized = await upload(server, manager, station.id, "big.pdf", b"%PDF-1.7\n" + bytes(limit + (2 << 20)))
    assert oversized["_status"] == 413

    # a link whose signature or expiry was changed is refused
    link = (await gql(server, LINK, {"id": sneaky["id"], "v": None}, manager))["data"]["l"]["url"]
    assert (await fetch(link.replace("sig=", "sig=A"))).status_code == 403
    assert (await fetch(link.replace("expires=", "expires=9"))).status_code == 403

    # anonymous uploads and a partner (no file rights) are refused, and nothing is stored
    assert (await upload(server, None, station.id, "x.pdf", PDF))["_status"] == 401
    refused = await upload(server, partner, station.id, "x.pdf", PDF)
    assert refused["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert len((await gql(server, "query($s: ID!) { stationFiles(stationId: $s) { id } }", {"s": station.id},
                          manager))["data"]["stationFiles"]) == 1


def test_settings_for_s3_need_a_bucket():
    from api.settings import SettingsError

    with pytest.raises(SettingsError):
        Settings.from_env({"CHARGEOPS_FILES_BACKEND": "s3"})
    assert replace(Settings(), files_backend="s3").files_backend == "s3"
