"""Where file bytes live: a local directory or an S3-compatible bucket, behind one small protocol.

Keys are made by our own code (``stations/42/0f3c….pdf``) and still checked on every call: lower-case
ASCII letters, digits and ``/._-``, starting with a letter or digit, no ``..``, no empty path segment, no
segment starting with a dot, at most 200 characters.

Downloads never stream through an adapter holding the file in a session: callers hand out a
time-limited URL. For S3 that is a presigned GET (SigV4) that carries the download name and type; for
the local backend it is ``{public_url}/files/{key}?expires=…&filename=…&type=…&sig=…``, signed with
``UrlSigner`` and served by the route that calls ``LocalStorage.open_signed``.

    DomainError
    ├── StoredFileMissing             STORED_FILE_MISSING
    ├── InvalidInput                  INVALID_INPUT            (a bad key, type or lifetime)
    ├── BadSignature                  BAD_SIGNATURE            (api.files.signing)
    └── LinkExpired                   LINK_EXPIRED             (api.files.signing)
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import secrets
import tempfile
from collections.abc import Mapping
from contextlib import AsyncExitStack
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Protocol
from urllib.parse import quote, urlencode

from aiobotocore.client import AioBaseClient  # type: ignore[import-untyped]
from aiobotocore.config import AioConfig  # type: ignore[import-untyped]
from aiobotocore.session import get_session  # type: ignore[import-untyped]
from botocore.exceptions import ClientError  # type: ignore[import-untyped]

from api.core.clock import Clock, SystemClock
from api.core.errors import DomainError, InvalidInput
from api.files.signing import BadSignature, UrlSigner, derive_key
from api.files.sniff import safe_filename
from api.settings import Settings

MAX_KEY_CHARS = 200
MAX_URL_TTL_S = 7 * 24 * 3600
"""SigV4 presigned URLs cannot live longer than a week; the local backend keeps the same bound."""
URL_SIGNING_PURPOSE = "files/url"

_KEY = re.compile(r"[a-z0-9][a-z0-9/._-]*")
_TOKEN = r"[A-Za-z0-9!#$&^_.+-]+"
_CONTENT_TYPE = re.compile(rf"{_TOKEN}/{_TOKEN}(?: ?; ?{_TOKEN}={_TOKEN})*")
_ATTR_CHARS = "!#$&+-.^_`|~"
"""RFC 8187 attr-char punctuation, kept as is in ``filename*``; everything else is percent-encoded."""
_MISSING_KEY_CODES = frozenset({"NoSuchKey", "404", "NotFound"})
_MISSING_BUCKET_CODES = frozenset({"NoSuchBucket", "404", "NotFound"})


class StoredFileMissing(DomainError):
    code = "STORED_FILE_MISSING"


def check_key(key: str) -> str:
    """Return ``key`` if it is a well-formed storage key, else raise InvalidInput."""
    if (
        len(key) > MAX_KEY_CHARS
        or not _KEY.fullmatch(key)
        or ".." in key
        or "//" in key
        or key.endswith("/")
        or "/." in key
    ):
        raise InvalidInput(f"{key[:MAX_KEY_CHARS]!r} is not a valid storage key")
    return key


def check_content_type(content_type: str) -> str:
    """Return ``content_type`` if it is a plain ``type/subtype[; name=value]`` (no header injection)."""
    if len(content_type) > 200 or not _CONTENT_TYPE.fullmatch(content_type):
        raise InvalidInput(f"{content_type[:200]!r} is not a valid content type")
    return content_type


def _check_ttl(expires_in_s: int) -> int:
    if not 1 <= expires_in_s <= MAX_URL_TTL_S:
        raise InvalidInput(f"a file URL must live between 1 s and {MAX_URL_TTL_S} s, not {expires_in_s} s")
    return expires_in_s


def content_disposition(filename: str, disposition: str = "attachment") -> str:
    """An RFC 6266 Content-Disposition value: an ASCII ``filename`` fallback for old clients and the
    exact (e.g. Chinese) name as ``filename*=UTF-8''…``."""
    if disposition not in ("attachment", "inline"):
        raise ValueError(f"unknown disposition {disposition!r}")
    name = safe_filename(filename)
    fallback = "".join(char if " " <= char <= "~" and char not in '"\\%' else "_" for char in name)
    return f"{disposition}; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe=_ATTR_CHARS)}"


class FileStorage(Protocol):
    async def put(self, key: str, data: bytes, content_type: str) -> None:
        """Store ``data`` under ``key``, replacing what was there."""
        ...

    async def get(self, key: str) -> bytes:
        """The bytes under ``key``; raises StoredFileMissing if there are none."""
        ...

    async def delete(self, key: str) -> None:
        """Remove ``key``; removing a missing key is not an error."""
        ...

    async def download_url(self, key: str, *, filename: str, content_type: str, expires_in_s: int) -> str:
        """A URL that serves the bytes as an attachment named ``filename`` for ``expires_in_s`` seconds."""
        ...

    async def close(self) -> None:
        """Release connections; the storage may be used again afterwards (it reconnects lazily)."""
        ...


@dataclass(frozen=True)
class SignedFile:
    data: bytes
    content_type: str
    filename: str

    @property
    def content_disposition(self) -> str:
        return content_disposition(self.filename)


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_atomic(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temp_name = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp_name, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temp_name)
        raise
    _fsync_dir(path.parent)


class LocalStorage:
    """Files in a directory; downloads through ``{public_url}/files/{key}`` links signed by ``signer``.

    The content type is not recorded next to the bytes (the caller's own record holds it); a download
    link carries the type and name it was made with, inside the signature.
    """

    def __init__(self, root: Path, signer: UrlSigner, public_url: str, *, clock: Clock | None = None) -> None:
        self.root = Path(root).resolve()
        self._signer = signer
        self._public_url = public_url.rstrip("/")
        self._clock: Clock = clock or SystemClock()

    def path_of(self, key: str) -> Path:
        """The file for ``key``, checked to lie inside the root (symlinks resolved)."""
        path = (self.root / check_key(key)).resolve()
        if path == self.root or not path.is_relative_to(self.root):
            raise InvalidInput(f"{key!r} is not a valid storage key")
        return path

    async def put(self, key: str, data: bytes, content_type: str) -> None:
        check_content_type(content_type)
        path = self.path_of(key)
        self.root.mkdir(parents=True, exist_ok=True)
        await asyncio.to_thread(_write_atomic, path, bytes(data))

    async def get(self, key: str) -> bytes:
        path = self.path_of(key)
        try:
            return await asyncio.to_thread(path.read_bytes)
        except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
            raise StoredFileMissing(f"no stored file {key}") from None

    async def delete(self, key: str) -> None:
        path = self.path_of(key)
        with contextlib.suppress(FileNotFoundError, NotADirectoryError, IsADirectoryError):
            await asyncio.to_thread(path.unlink)

    def _params(self, filename: str, content_type: str) -> dict[str, str]:
        return {"filename": filename, "type": content_type}

    async def download_url(self, key: str, *, filename: str, content_type: str, expires_in_s: int) -> str:
        check_key(key)
        check_content_type(content_type)
        expires = int(self._clock.now().timestamp()) + _check_ttl(expires_in_s)
        params = self._params(safe_filename(filename), content_type)
        signature = self._signer.sign("GET", key, expires, params)
        query = urlencode({"expires": str(expires), **params, "sig": signature}, quote_via=quote)
        return f"{self._public_url}/files/{quote(key, safe='/')}?{query}"

    def check_signed(self, key: str, query: Mapping[str, str], now: datetime) -> tuple[str, str]:
        """Verify a download link's query for ``key``; returns (content_type, filename).

        Raises BadSignature for a malformed, incomplete or altered link and LinkExpired for an old one.
        """
        check_key(key)
        expires_raw = query.get("expires", "")
        filename = query.get("filename")
        content_type = query.get("type")
        signature = query.get("sig")
        if (
            not expires_raw.isascii()
            or not expires_raw.isdigit()
            or len(expires_raw) > 12
            or filename is None
            or content_type is None
            or signature is None
        ):
            raise BadSignature("the link is incomplete or malformed")
        self._signer.verify(
            "GET",
            key,
            int(expires_raw),
            self._params(filename, content_type),
            signature,
            now=int(now.timestamp()),
        )
        return content_type, filename

    async def open_signed(
        self, key: str, query: Mapping[str, str], now: datetime | None = None
    ) -> SignedFile:
        """What the ``/files/{key}`` route serves: the verified link's bytes, type and download name."""
        content_type, filename = self.check_signed(key, query, now or self._clock.now())
        return SignedFile(await self.get(key), content_type, filename)

    async def close(self) -> None:
        """Nothing is held open between calls."""


def _error_code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


class S3Storage:
    """An S3-compatible bucket (AWS, MinIO, Ceph RGW, OSS/COS in S3 mode) through aiobotocore.

    One client is created on first use and closed by ``close()``. An ``endpoint_url`` (a self-hosted
    S3) selects path-style addressing; without one (AWS) virtual-hosted style is used.
    """

    def __init__(
        self,
        endpoint_url: str | None,
        region: str,
        bucket: str,
        access_key_id: str,
        secret_access_key: str,
    ) -> None:
        if not bucket:
            raise ValueError("S3Storage needs a bucket")
        self.bucket = bucket
        self._endpoint_url = endpoint_url or None
        self._region = region or "us-east-1"
        self._access_key_id = access_key_id or None
        self._secret_access_key = secret_access_key or None
        self._lock = asyncio.Lock()
        self._stack = AsyncExitStack()
        self._client: AioBaseClient | None = None

    async def _s3(self) -> AioBaseClient:
        if self._client is not None:
            return self._client
        async with self._lock:
            if self._client is None:
                config = AioConfig(
                    signature_version="s3v4",
                    s3={"addressing_style": "path" if self._endpoint_url else "virtual"},
                    retries={"max_attempts": 3, "mode": "standard"},
                )
                self._client = await self._stack.enter_async_context(
                    get_session().create_client(
                        "s3",
                        region_name=self._region,
                        endpoint_url=self._endpoint_url,
                        aws_access_key_id=self._access_key_id,
                        aws_secret_access_key=self._secret_access_key,
                        config=config,
                    )
                )
            return self._client

    async def ensure_bucket(self) -> None:
        """Create the bucket unless it exists (and is ours)."""
        s3 = await self._s3()
        try:
            await s3.head_bucket(Bucket=self.bucket)
            return
        except ClientError as error:
            if _error_code(error) not in _MISSING_BUCKET_CODES:
                raise
        options: dict[str, object] = {}
        if self._region != "us-east-1":
            options["CreateBucketConfiguration"] = {"LocationConstraint": self._region}
        try:
            await s3.create_bucket(Bucket=self.bucket, **options)
        except ClientError as error:
            if _error_code(error) != "BucketAlreadyOwnedByYou":
                raise

    async def put(self, key: str, data: bytes, content_type: str) -> None:
        check_key(key)
        check_content_type(content_type)
        s3 = await self._s3()
        await s3.put_object(Bucket=self.bucket, Key=key, Body=bytes(data), ContentType=content_type)

    async def get(self, key: str) -> bytes:
        check_key(key)
        s3 = await self._s3()
        try:
            response = await s3.get_object(Bucket=self.bucket, Key=key)
        except ClientError as error:
            if _error_code(error) in _MISSING_KEY_CODES:
                raise StoredFileMissing(f"no stored file {key}") from None
            raise
        async with response["Body"] as body:
            data: bytes = await body.read()
        return data

    async def delete(self, key: str) -> None:
        check_key(key)
        s3 = await self._s3()
        await s3.delete_object(Bucket=self.bucket, Key=key)

    async def download_url(self, key: str, *, filename: str, content_type: str, expires_in_s: int) -> str:
        check_key(key)
        check_content_type(content_type)
        s3 = await self._s3()
        url: str = await s3.generate_presigned_url(
            "get_object",
            Params={
                "Bucket": self.bucket,
                "Key": key,
                "ResponseContentType": content_type,
                "ResponseContentDisposition": content_disposition(filename),
            },
            ExpiresIn=_check_ttl(expires_in_s),
        )
        return url

    async def close(self) -> None:
        async with self._lock:
            await self._stack.aclose()
            self._stack = AsyncExitStack()
            self._client = None


def build_storage(settings: Settings, *, clock: Clock | None = None, secret_key: str | None = None) -> FileStorage:
    """The backend ``settings.files_backend`` names. Local links are signed with a key derived from
    ``secret_key`` (default: the settings' one; if both are empty, a random per-process key, so links
    then die with the process, as the settings say)."""
    if settings.files_backend == "s3":
        return S3Storage(
            endpoint_url=settings.s3_endpoint_url or None,
            region=settings.s3_region,
            bucket=settings.s3_bucket,
            access_key_id=settings.s3_access_key_id,
            secret_access_key=settings.s3_secret_access_key,
        )
    if settings.files_backend == "local":
        secret = secret_key or settings.secret_key or secrets.token_urlsafe(48)
        signer = UrlSigner(derive_key(secret, URL_SIGNING_PURPOSE))
        return LocalStorage(Path(settings.files_dir), signer, settings.public_url, clock=clock)
    raise ValueError(f"unknown files backend {settings.files_backend!r}")
