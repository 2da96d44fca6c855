"""One storage contract, run on both backends: LocalStorage in a temporary folder, and S3Storage against
a real moto S3 server on 127.0.0.1.

Download links are fetched over HTTP with httpx. For the local backend the test mounts the tiny route
that serves ``/files/{key}`` through ``LocalStorage.open_signed``. moto serves presigned URLs but never
checks their signature or expiry, so S3 links are fetched through ``SigV4Gate``: an independent
implementation of AWS's query-string SigV4 check (signature, then expiry, as S3 does) that forwards
accepted requests to moto and answers the others with 403, like S3.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit, urlunsplit

import httpx
import pytest
from botocore.exceptions import ClientError  # type: ignore[import-untyped]
from moto.server import ThreadedMotoServer
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from api.core.errors import InvalidInput
from api.files.signing import BadSignature, LinkExpired, UrlSigner, derive_key
from api.files.storage import (
    FileStorage,
    LocalStorage,
    S3Storage,
    StoredFileMissing,
    build_storage,
    check_key,
    content_disposition,
)
from api.settings import Settings

ACCESS_KEY = "AKIDCHARGEOPSTEST"
SECRET_KEY = "chargeops-test-secret-access-key"
REGION = "us-east-1"
CHINESE_NAME = "充电桩巡检报告 2024年3月.pdf"
PUBLIC_URL = "http://files.test"


class ManualClock:
    """Real time plus an offset the test moves forward."""

    def __init__(self) -> None:
        self.offset = timedelta()

    def now(self) -> datetime:
        return datetime.now(UTC) + self.offset

    def advance(self, seconds: float) -> None:
        self.offset += timedelta(seconds=seconds)


# --- the local backend's download route ---------------------------------------------------------------


def local_files_app(storage: LocalStorage) -> Starlette:
    """What the web adapter mounts for the local backend: ``GET /files/{key}`` through ``open_signed``."""

    async def serve(request: Request) -> Response:
        try:
            signed = await storage.open_signed(request.path_params["key"], request.query_params)
        except (BadSignature, LinkExpired) as error:
            return PlainTextResponse(error.code, status_code=403)
        except StoredFileMissing as error:
            return PlainTextResponse(error.code, status_code=404)
        except InvalidInput as error:
            return PlainTextResponse(error.code, status_code=400)
        return Response(
            signed.data,
            media_type=signed.content_type,
            headers={"Content-Disposition": signed.content_disposition, "Cache-Control": "private, no-store"},
        )

    return Starlette(routes=[Route("/files/{key:path}", serve, methods=["GET"])])


# --- an S3 presigned-URL checker in front of moto ----------------------------------------------------


def _uri_encode(text: str) -> str:
    return quote(text, safe="-_.~")


def _hmac(key: bytes, text: str) -> bytes:
    return hmac.new(key, text.encode("utf-8"), hashlib.sha256).digest()


@dataclass(frozen=True)
class AwsKey:
    access_key_id: str
    secret_access_key: str
    region: str


TEST_KEY = AwsKey(ACCESS_KEY, SECRET_KEY, REGION)


def sigv4_query_error(
    method: str, host: str, raw_path: str, raw_query: str, now: datetime, aws: AwsKey = TEST_KEY
) -> str | None:
    """Why AWS would refuse this presigned request (``None``: it would accept it). Written from the SigV4
    specification, not with botocore, so it checks botocore's URLs independently."""
    pairs = parse_qsl(raw_query, keep_blank_values=True)
    params = dict(pairs)
    needed = (
        "X-Amz-Algorithm",
        "X-Amz-Credential",
        "X-Amz-Date",
        "X-Amz-Expires",
        "X-Amz-SignedHeaders",
        "X-Amz-Signature",
    )
    if any(name not in params for name in needed) or len(params) != len(pairs):
        return "AuthorizationQueryParametersError"
    if params["X-Amz-Algorithm"] != "AWS4-HMAC-SHA256" or params["X-Amz-SignedHeaders"] != "host":
        return "AuthorizationQueryParametersError"
    credential = params["X-Amz-Credential"].split("/")
    if (
        len(credential) != 5
        or credential[0] != aws.access_key_id
        or credential[2:] != [aws.region, "s3", "aws4_request"]
    ):
        return "InvalidAccessKeyId"
    try:
        signed_at = datetime.strptime(params["X-Amz-Date"], "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
        lifetime = int(params["X-Amz-Expires"])
    except ValueError:
        return "AuthorizationQueryParametersError"
    if credential[1] != params["X-Amz-Date"][:8]:
        return "SignatureDoesNotMatch"
    canonical_query = "&".join(
        f"{_uri_encode(name)}={_uri_encode(value)}"
        for name, value in sorted(pairs)
        if name != "X-Amz-Signature"
    )
    canonical_request = "\n".join(
        (method, raw_path, canonical_query, f"host:{host}\n", "host", "UNSIGNED-PAYLOAD")
    )
    scope = "/".join(credential[1:])
    string_to_sign = "\n".join(
        (
            "AWS4-HMAC-SHA256",
            params["X-Amz-Date"],
            scope,
            hashlib.sha256(canonical_request.encode("utf-8")).hexdigest(),
        )
    )
    key = _hmac(("AWS4" + aws.secret_access_key).encode("utf-8"), credential[1])
    for part in (aws.region, "s3", "aws4_request"):
        key = _hmac(key, part)
    expected = hmac.new(key, string_to_sign.encode("utf-8"), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, params["X-Amz-Signature"]):
        return "SignatureDoesNotMatch"
    if not 1 <= lifetime <= 604800:
        return "AuthorizationQueryParametersError"
    if now > signed_at + timedelta(seconds=lifetime):
        return "AccessDenied: Request has expired"
    return None


def sigv4_gate(moto_endpoint: str, clock: ManualClock) -> Starlette:
    """Checks a presigned GET like S3 does, then lets moto (the real server) answer it."""

    async def gate(request: Request) -> Response:
        raw_path = request.scope["raw_path"].split(b"?", 1)[0].decode("ascii")
        raw_query = request.scope["query_string"].decode("ascii")
        error = sigv4_query_error(request.method, request.headers["host"], raw_path, raw_query, clock.now())
        if error is not None:
            return PlainTextResponse(error, status_code=403)
        async with httpx.AsyncClient() as client:
            upstream = await client.get(f"{moto_endpoint}{raw_path}?{raw_query}")
        keep = ("content-type", "content-disposition", "content-length", "etag")
        return Response(
            upstream.content,
            status_code=upstream.status_code,
            headers={name: value for name, value in upstream.headers.items() if name in keep},
        )

    return Starlette(routes=[Route("/{path:path}", gate, methods=["GET"])])


# --- fixtures --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def moto_endpoint() -> Iterator[str]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


@dataclass
class Backend:
    name: str
    storage: FileStorage
    clock: ManualClock
    app: Starlette

    async def fetch(self, url: str) -> httpx.Response:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=self.app)) as client:
            return await client.get(url)


def _local_backend(root: Path) -> Backend:
    clock = ManualClock()
    storage = LocalStorage(root, UrlSigner(derive_key("x" * 32, "files/url")), PUBLIC_URL, clock=clock)
    return Backend("local", storage, clock, local_files_app(storage))


async def _s3_backend(moto_endpoint: str) -> Backend:
    clock = ManualClock()
    storage = S3Storage(moto_endpoint, REGION, f"chargeops-{secrets.token_hex(6)}", ACCESS_KEY, SECRET_KEY)
    await storage.ensure_bucket()
    return Backend("s3", storage, clock, sigv4_gate(moto_endpoint, clock))


@pytest.fixture(params=["local", "s3"])
async def backend(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Backend]:
    if request.param == "local":
        made = _local_backend(tmp_path / "files")
    else:
        made = await _s3_backend(request.getfixturevalue("moto_endpoint"))
    try:
        yield made
    finally:
        await made.storage.close()


def disposition_filename(header: str) -> str:
    """The exact name from an RFC 6266 ``filename*=UTF-8''…`` parameter."""
    for part in header.split(";"):
        name, _, value = part.strip().partition("=")
        if name.lower() == "filename*":
            charset, _, encoded = value.partition("''")
            assert charset.upper() == "UTF-8"
            return unquote(encoded, encoding="utf-8", errors="strict")
    raise AssertionError(f"no filename* in {header!r}")


# --- the contract -----------------------------------------------------------------------------------------


async def test_put_then_get_returns_identical_bytes(backend: Backend) -> None:
    data = bytes(range(256)) * 4 + "充电 ✓\n".encode()
    await backend.storage.put("stations/1/a.bin", data, "application/octet-stream")
    assert await backend.storage.get("stations/1/a.bin") == data


async def test_empty_file_round_trips(backend: Backend) -> None:
    await backend.storage.put("empty.txt", b"", "text/plain")
    assert await backend.storage.get("empty.txt") == b""


async def test_five_megabyte_random_blob_round_trips(backend: Backend) -> None:
    blob = os.urandom(5 * 1024 * 1024 + 7)
    await backend.storage.put("diagnostics/cp-1/blob.bin", blob, "application/octet-stream")
    got = await backend.storage.get("diagnostics/cp-1/blob.bin")
    assert len(got) == len(blob)
    assert hashlib.sha256(got).digest() == hashlib.sha256(blob).digest()


async def test_put_overwrites(backend: Backend) -> None:
    await backend.storage.put("k/v.txt", b"first version, longer", "text/plain")
    await backend.storage.put("k/v.txt", b"second", "text/plain")
    assert await backend.storage.get("k/v.txt") == b"second"


async def test_delete_removes_and_is_idempotent(backend: Backend) -> None:
    await backend.storage.put("d/x.txt", b"x", "text/plain")
    await backend.storage.put("d/y.txt", b"y", "text/plain")
    await backend.storage.delete("d/x.txt")
    with pytest.raises(StoredFileMissing):
        await backend.storage.get("d/x.txt")
    await backend.storage.delete("d/x.txt")
    await backend.storage.delete("never/was/here.txt")
    assert await backend.storage.get("d/y.txt") == b"y"


async def test_missing_key_raises_stored_file_missing(backend: Backend) -> None:
    with pytest.raises(StoredFileMissing) as caught:
        await backend.storage.get("no/such/file.pdf")
    assert caught.value.code == "STORED_FILE_MISSING"


BAD_KEYS = [
    "../x",
    "/x",
    "a//b",
    "A",
    "a/../b",
    "..",
    "",
    "a/",
    "a/.hidden",
    ".x",
    "a b",
    "a\\b",
    "a\x00b",
    "报告.pdf",
    "a" * 201,
    "a?b",
    "a%2fb",
]


@pytest.mark.parametrize("key", BAD_KEYS)
async def test_bad_keys_are_refused_by_every_operation(backend: Backend, key: str) -> None:
    with pytest.raises(InvalidInput):
        await backend.storage.put(key, b"x", "text/plain")
    with pytest.raises(InvalidInput):
        await backend.storage.get(key)
    with pytest.raises(InvalidInput):
        await backend.storage.delete(key)
    with pytest.raises(InvalidInput):
        await backend.storage.download_url(key, filename="x.txt", content_type="text/plain", expires_in_s=60)


def test_longest_valid_key_is_accepted() -> None:
    assert check_key("a" * 200) == "a" * 200
    assert check_key("stations/42/0f3c-9a.b_c.pdf") == "stations/42/0f3c-9a.b_c.pdf"


@pytest.mark.parametrize("content_type", ["text/plain\r\nX-Evil: 1", "nonsense", "", "a/b c"])
async def test_bad_content_types_are_refused(backend: Backend, content_type: str) -> None:
    with pytest.raises(InvalidInput):
        await backend.storage.put("ok.bin", b"x", content_type)
    with pytest.raises(InvalidInput):
        await backend.storage.download_url(
            "ok.bin", filename="ok.bin", content_type=content_type, expires_in_s=60
        )


@pytest.mark.parametrize("ttl", [0, -5, 7 * 24 * 3600 + 1])
async def test_url_lifetimes_out_of_range_are_refused(backend: Backend, ttl: int) -> None:
    with pytest.raises(InvalidInput):
        await backend.storage.download_url(
            "ok.bin", filename="ok.bin", content_type="text/plain", expires_in_s=ttl
        )


async def test_signed_download_serves_bytes_type_and_chinese_name(backend: Backend) -> None:
    data = b"%PDF-1.7\n" + os.urandom(300_000) + b"\n%%EOF\n"
    await backend.storage.put("stations/7/report.pdf", data, "application/pdf")
    url = await backend.storage.download_url(
        "stations/7/report.pdf", filename=CHINESE_NAME, content_type="application/pdf", expires_in_s=600
    )
    response = await backend.fetch(url)
    assert response.status_code == 200, response.text
    assert response.content == data
    assert response.headers["content-type"] == "application/pdf"
    disposition = response.headers["content-disposition"]
    assert disposition.startswith("attachment;")
    assert disposition_filename(disposition) == CHINESE_NAME


async def test_signed_download_of_text_keeps_its_type(backend: Backend) -> None:
    await backend.storage.put("logs/boot.log", "开机 ok\n".encode(), "text/plain")
    url = await backend.storage.download_url(
        "logs/boot.log", filename="boot.log", content_type="text/plain", expires_in_s=60
    )
    response = await backend.fetch(url)
    assert response.status_code == 200
    assert response.content == "开机 ok\n".encode()
    assert response.headers["content-type"].split(";")[0] == "text/plain"
    assert disposition_filename(response.headers["content-disposition"]) == "boot.log"


async def test_link_to_a_deleted_file_is_not_found(backend: Backend) -> None:
    await backend.storage.put("gone.txt", b"x", "text/plain")
    url = await backend.storage.download_url(
        "gone.txt", filename="gone.txt", content_type="text/plain", expires_in_s=60
    )
    await backend.storage.delete("gone.txt")
    response = await backend.fetch(url)
    # S3 (and moto) answer 403 rather than 404 for a missing object when the signer may not list the bucket
    assert response.status_code == (404 if backend.name == "local" else 403)
    assert response.content != b"x"


async def test_expired_link_is_refused(backend: Backend) -> None:
    await backend.storage.put("exp.txt", b"soon gone", "text/plain")
    url = await backend.storage.download_url(
        "exp.txt", filename="exp.txt", content_type="text/plain", expires_in_s=60
    )
    backend.clock.advance(50)
    assert (await backend.fetch(url)).status_code == 200
    backend.clock.advance(15)
    response = await backend.fetch(url)
    assert response.status_code == 403
    assert "expired" in response.text.lower()


def _with_query(url: str, params: list[tuple[str, str]]) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(query=urlencode(params, quote_via=quote)))


def _altered(value: str) -> str:
    if value.isdigit():
        return str(int(value) + 3600)
    last = value[-1]
    return value[:-1] + ("B" if last != "B" else "C")


def tampered_urls(url: str, other_key_url: str) -> Iterator[tuple[str, str]]:
    """Every way a holder might bend a link: each query value changed, each one dropped, another file's
    path with this link's query."""
    params = parse_qsl(urlsplit(url).query, keep_blank_values=True)
    for index, (name, value) in enumerate(params):
        changed = [*params[:index], (name, _altered(value)), *params[index + 1 :]]
        yield f"changed {name}", _with_query(url, changed)
        yield f"dropped {name}", _with_query(url, params[:index] + params[index + 1 :])
    yield "other file", urlunsplit(urlsplit(url)._replace(path=urlsplit(other_key_url).path))


async def test_tampered_links_are_refused(backend: Backend) -> None:
    await backend.storage.put("t/mine.pdf", b"%PDF-1.4 mine", "application/pdf")
    await backend.storage.put("t/other.pdf", b"%PDF-1.4 someone else's", "application/pdf")
    url = await backend.storage.download_url(
        "t/mine.pdf", filename="mine.pdf", content_type="application/pdf", expires_in_s=60
    )
    other = await backend.storage.download_url(
        "t/other.pdf", filename="o.pdf", content_type="application/pdf", expires_in_s=60
    )
    assert (await backend.fetch(url)).status_code == 200
    cases = list(tampered_urls(url, other))
    assert len(cases) >= 8
    for label, bent in cases:
        response = await backend.fetch(bent)
        assert response.status_code == 403, f"{backend.name}: {label} was accepted: {bent}"


async def test_storage_reconnects_after_close(backend: Backend) -> None:
    await backend.storage.put("c.txt", b"before", "text/plain")
    await backend.storage.close()
    assert await backend.storage.get("c.txt") == b"before"


# --- local backend only -----------------------------------------------------------------------------------


def _leftovers(root: Path) -> list[Path]:
    return [path for path in root.rglob("*") if path.name.startswith(".tmp-")]


async def test_local_files_live_under_the_root_and_leave_no_temp_files(tmp_path: Path) -> None:
    storage = _local_backend(tmp_path / "root").storage
    assert isinstance(storage, LocalStorage)
    await storage.put("stations/3/a.pdf", b"one", "application/pdf")
    await storage.put("stations/3/a.pdf", b"two", "application/pdf")
    assert (tmp_path / "root" / "stations" / "3" / "a.pdf").read_bytes() == b"two"
    assert _leftovers(tmp_path / "root") == []


async def test_local_failed_write_keeps_the_old_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    storage = _local_backend(tmp_path / "root").storage
    await storage.put("a/b.txt", b"old", "text/plain")

    def broken_fsync(fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", broken_fsync)
    with pytest.raises(OSError):
        await storage.put("a/b.txt", b"new but never complete", "text/plain")
    monkeypatch.undo()
    assert await storage.get("a/b.txt") == b"old"
    assert _leftovers(tmp_path / "root") == []


async def test_local_symlink_out_of_the_root_is_refused(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_bytes(b"secret")
    root = tmp_path / "root"
    root.mkdir()
    (root / "escape").symlink_to(outside, target_is_directory=True)
    storage = _local_backend(root).storage
    with pytest.raises(InvalidInput):
        await storage.get("escape/secret.txt")
    with pytest.raises(InvalidInput):
        await storage.put("escape/new.txt", b"x", "text/plain")
    assert not (outside / "new.txt").exists()


async def test_local_key_that_is_a_directory_is_missing(tmp_path: Path) -> None:
    storage = _local_backend(tmp_path / "root").storage
    await storage.put("dir/file.txt", b"x", "text/plain")
    with pytest.raises(StoredFileMissing):
        await storage.get("dir")
    with pytest.raises(StoredFileMissing):
        await storage.get("dir/file.txt/below")
    await storage.delete("dir")
    assert await storage.get("dir/file.txt") == b"x"


async def test_local_link_format_and_open_signed(tmp_path: Path) -> None:
    backend = _local_backend(tmp_path / "root")
    storage = backend.storage
    assert isinstance(storage, LocalStorage)
    await storage.put("s/r.txt", b"hello", "text/plain")
    before = int(backend.clock.now().timestamp())
    url = await storage.download_url(
        "s/r.txt", filename="a/../报告 1.txt", content_type="text/plain", expires_in_s=120
    )
    parts = urlsplit(url)
    assert f"{parts.scheme}://{parts.netloc}" == PUBLIC_URL
    assert parts.path == "/files/s/r.txt"
    query = dict(parse_qsl(parts.query))
    assert set(query) == {"expires", "filename", "type", "sig"}
    assert query["filename"] == "报告 1.txt"  # the name is made safe before it is signed
    assert before + 120 <= int(query["expires"]) <= int(backend.clock.now().timestamp()) + 120
    signed = await storage.open_signed("s/r.txt", query)
    assert (signed.data, signed.content_type, signed.filename) == (b"hello", "text/plain", "报告 1.txt")
    with pytest.raises(LinkExpired):
        await storage.open_signed("s/r.txt", query, now=backend.clock.now() + timedelta(seconds=121))
    with pytest.raises(BadSignature):
        await storage.open_signed("s/r.txt", {**query, "type": "text/html"})
    with pytest.raises(BadSignature):
        await storage.open_signed("s/r.txt", {k: v for k, v in query.items() if k != "sig"})
    with pytest.raises(BadSignature):
        await storage.open_signed("s/r.txt", {**query, "expires": "soon"})


async def test_local_links_from_another_secret_are_refused(tmp_path: Path) -> None:
    ours = _local_backend(tmp_path / "root").storage
    theirs = LocalStorage(tmp_path / "root", UrlSigner(derive_key("y" * 32, "files/url")), PUBLIC_URL)
    assert isinstance(ours, LocalStorage)
    await ours.put("f.txt", b"x", "text/plain")
    url = await theirs.download_url("f.txt", filename="f.txt", content_type="text/plain", expires_in_s=60)
    with pytest.raises(BadSignature):
        await ours.open_signed("f.txt", dict(parse_qsl(urlsplit(url).query)))


def test_content_disposition_has_ascii_fallback_and_exact_name() -> None:
    header = content_disposition('季度 "报告"\r\n.pdf')
    assert header.isascii() and "\r" not in header and "\n" not in header
    assert header.startswith('attachment; filename="')
    assert disposition_filename(header) == "季度 _报告_.pdf"
    fallback = header.split('filename="', 1)[1].split('"', 1)[0]
    assert fallback.endswith(".pdf") and '"' not in fallback


# --- build_storage ------------------------------------------------------------------------------------------


async def test_build_storage_local_with_a_shared_secret_signs_for_every_node(tmp_path: Path) -> None:
    settings = Settings(files_dir=str(tmp_path / "shared"), secret_key="s" * 40, public_url=PUBLIC_URL)
    node_a = build_storage(settings)
    node_b = build_storage(settings)
    assert isinstance(node_a, LocalStorage) and isinstance(node_b, LocalStorage)
    assert node_a.root == (tmp_path / "shared").resolve()
    await node_a.put("n.txt", b"from a", "text/plain")
    url = await node_a.download_url("n.txt", filename="n.txt", content_type="text/plain", expires_in_s=60)
    signed = await node_b.open_signed("n.txt", dict(parse_qsl(urlsplit(url).query)))
    assert signed.data == b"from a"


async def test_build_storage_local_without_secret_still_signs(tmp_path: Path) -> None:
    storage = build_storage(Settings(files_dir=str(tmp_path / "f"), secret_key=""))
    assert isinstance(storage, LocalStorage)
    await storage.put("n.txt", b"x", "text/plain")
    url = await storage.download_url("n.txt", filename="n.txt", content_type="text/plain", expires_in_s=60)
    assert url.startswith("http://127.0.0.1:8000/files/n.txt?")
    assert (await storage.open_signed("n.txt", dict(parse_qsl(urlsplit(url).query)))).data == b"x"
    other = build_storage(Settings(files_dir=str(tmp_path / "f"), secret_key=""))
    assert isinstance(other, LocalStorage)
    with pytest.raises(BadSignature):
        await other.open_signed("n.txt", dict(parse_qsl(urlsplit(url).query)))


async def test_build_storage_s3(moto_endpoint: str) -> None:
    settings = replace(
        Settings(),
        files_backend="s3",
        s3_endpoint_url=moto_endpoint,
        s3_region=REGION,
        s3_bucket=f"built-{secrets.token_hex(4)}",
        s3_access_key_id=ACCESS_KEY,
        s3_secret_access_key=SECRET_KEY,
    )
    storage = build_storage(settings)
    assert isinstance(storage, S3Storage)
    try:
        await storage.ensure_bucket()
        await storage.ensure_bucket()  # idempotent
        await storage.put("b/x.txt", b"in the bucket", "text/plain")
        assert await storage.get("b/x.txt") == b"in the bucket"
        url = await storage.download_url(
            "b/x.txt", filename="x.txt", content_type="text/plain", expires_in_s=30
        )
        query = dict(parse_qsl(urlsplit(url).query))
        assert query["X-Amz-Algorithm"] == "AWS4-HMAC-SHA256"
        assert query["X-Amz-Expires"] == "30"
        assert urlsplit(url).path == f"/{settings.s3_bucket}/b/x.txt"  # path style on a custom endpoint
    finally:
        await storage.close()


async def test_s3_missing_bucket_is_an_error_not_a_missing_file(moto_endpoint: str) -> None:
    storage = S3Storage(moto_endpoint, REGION, f"absent-{secrets.token_hex(4)}", ACCESS_KEY, SECRET_KEY)
    try:
        with pytest.raises(ClientError) as caught:
            await storage.get("x.txt")
        assert caught.value.response["Error"]["Code"] == "NoSuchBucket"
    finally:
        await storage.close()


def test_sigv4_checker_accepts_the_aws_documentation_example() -> None:
    """The presigned GET from AWS's "Authenticating Requests: Using Query Parameters" example, checked
    with its published key and signature: the gate's checker is right, independently of botocore."""
    query = (
        "X-Amz-Algorithm=AWS4-HMAC-SHA256"
        "&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request"
        "&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host"
        "&X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404"
    )
    example = AwsKey("AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "us-east-1")
    host = "examplebucket.s3.amazonaws.com"
    signed_at = datetime(2013, 5, 24, tzinfo=UTC)
    assert sigv4_query_error("GET", host, "/test.txt", query, signed_at, example) is None
    assert (
        sigv4_query_error("GET", host, "/test.txt", query, signed_at + timedelta(days=1, seconds=1), example)
        == "AccessDenied: Request has expired"
    )
    assert sigv4_query_error("GET", host, "/test.tx", query, signed_at, example) == "SignatureDoesNotMatch"
    assert (
        sigv4_query_error("GET", "other.example", "/test.txt", query, signed_at, example)
        == "SignatureDoesNotMatch"
    )
