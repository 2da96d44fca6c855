"""Station files: upload, versioned replace, list, time-limited download links, delete; diagnostics from piles.

Bytes go to the storage backend first, then the database row is written, so a crash in between leaves at
worst an unreferenced blob, never a row whose bytes are missing. Storage keys are made from our ids and a
random part: a client's file name is cleaned for display and never reaches a path or key.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from api.access.dto import Permission, Viewer
from api.access.service import AccessService, require_viewer
from api.audit.dto import PLATFORM, Actor, AuditRecord
from api.audit.service import AuditService
from api.core.clock import Clock
from api.core.db import UnitOfWork
from api.core.errors import InvalidInput, NotFound
from api.files import repository
from api.files.sniff import BINARY, GIF, GZIP, JPEG, PDF, PNG, TEXT, WEBP, ZIP, ZIP_BASED, check_allowed
from api.files.sniff import safe_filename, sniff
from api.files.signing import BadSignature, UrlSigner
from api.files.storage import FileStorage
from api.models import StationFile, StationFileVersion

log = logging.getLogger(__name__)

DOCUMENTS = frozenset({PDF, PNG, JPEG, WEBP, GIF, TEXT}) | ZIP_BASED
ALLOWED: dict[str, frozenset[str]] = {
    "permit": DOCUMENTS,
    "wiring": DOCUMENTS,
    "inspection": DOCUMENTS,
    "photo": frozenset({PNG, JPEG, WEBP, GIF}),
    "firmware": frozenset({BINARY, ZIP, GZIP}),
    "diagnostics": frozenset({BINARY, ZIP, GZIP, TEXT}),
    "other": DOCUMENTS | {GZIP},
}
CATEGORIES = tuple(ALLOWED)


class FileTooLarge(InvalidInput):
    code = "FILE_TOO_LARGE"


@dataclass(frozen=True)
class FileView:
    file: StationFile
    version: StationFileVersion


@dataclass(frozen=True)
class Link:
    url: str
    expires_at: datetime


class FileService:
    def __init__(
        self, uow: UnitOfWork, clock: Clock, storage: FileStorage, access: AccessService, audit: AuditService,
        *, max_bytes: int, url_ttl_s: int, upload_signer: UrlSigner, public_url: str,
    ) -> None:
        self.upload_signer = upload_signer
        self.public_url = public_url
        self.uow = uow
        self.clock = clock
        self.storage = storage
        self.access = access
        self.audit = audit
        self.max_bytes = max_bytes
        self.url_ttl_s = url_ttl_s

    async def upload(
        self, viewer: Viewer | None, station_id: int, category: str, name: str, data: bytes,
        *, replaces_file_id: int | None = None,
    ) -> FileView:
        """A new file, or (``replaces_file_id``) a new version of an existing one of the same station."""
        operator_id = await self.access.require_station(viewer, Permission.MANAGE_FILES, station_id)
        actor = require_viewer(viewer)
        view = await self._store(station_id, category, name, data, actor.user_id, replaces_file_id, None)
        await self._audit(Actor(actor.user_id, actor.name), "file.upload" if replaces_file_id is None else "file.replace",
                          operator_id, view)
        return view

    async def store_diagnostics(self, charge_point_id: str, station_id: int, name: str, data: bytes) -> FileView:
        """A diagnostics file a pile uploaded through its signed URL (GetDiagnostics)."""
        view = await self._store(station_id, "diagnostics", name, data, None, None, charge_point_id)
        await self._audit(PLATFORM, "file.diagnostics_received", await self.access.station_operator(station_id), view)
        return view

    async def _store(
        self, station_id: int, category: str, name: str, data: bytes, user_id: int | None,
        replaces_file_id: int | None, charge_point_id: str | None,
    ) -> FileView:
        if category not in ALLOWED:
            raise InvalidInput(f"category must be one of {', '.join(CATEGORIES)}")
        if len(data) > self.max_bytes:
            raise FileTooLarge(f"the file has {len(data)} bytes; at most {self.max_bytes} may be uploaded")
        if not data:
            raise InvalidInput("the file is empty")
        shown = safe_filename(name)
        content_type = sniff(data, shown)
        check_allowed(content_type, ALLOWED[category])
        digest = hashlib.sha256(data).hexdigest()
        async with self.uow.begin():
            if replaces_file_id is None:
                file = await repository.create_file(
                    station_id=station_id, category=category, name=shown, current_version=0,
                    charge_point_id=charge_point_id, created_by_id=user_id,
                )
            else:
                found = await repository.file_for_update(replaces_file_id)
                if found is None or found.station_id != station_id:
                    raise NotFound(f"file {replaces_file_id} does not exist at station {station_id}")
                if found.category != category:
                    raise InvalidInput(f"file {found.id} is a {found.category} file, not {category}")
                file = found
            number = file.current_version + 1
            key = f"stations/{station_id}/files/{file.id}/v{number}-{secrets.token_hex(8)}"
            await self.storage.put(key, data, content_type)  # bytes first: a row never points at nothing
            version = await repository.add_version(
                file_id=file.id, version=number, storage_key=key, size_bytes=len(data), content_type=content_type,
                sha256=digest, uploaded_by_id=user_id,
            )
            await repository.update_file(file.id, current_version=number, name=shown)
        file.current_version, file.name = number, shown
        return FileView(file, version)

    async def list(self, viewer: Viewer | None, station_id: int, category: str | None) -> list[FileView]:
        await self.access.require_station(viewer, Permission.READ_FILES, station_id)
        files = await repository.files_of(station_id, category)
        current = await repository.current_versions(files)
        return [FileView(f, current[f.id]) for f in files if f.id in current]

    async def versions(self, viewer: Viewer | None, file_id: int) -> list[StationFileVersion]:
        file = await self._readable(viewer, file_id)
        return await repository.versions(file.id)

    async def download_link(self, viewer: Viewer | None, file_id: int, version: int | None) -> Link:
        file = await self._readable(viewer, file_id)
        return await self._link(file, version or file.current_version, self.url_ttl_s)

    async def firmware_link(self, viewer: Viewer | None, station_id: int, file_id: int, valid_until: datetime) -> Link:
        """A download link for a pile (UpdateFirmware): valid until the pile's retrieve time plus a day of retries."""
        file = await self._readable(viewer, file_id)
        if file.station_id != station_id or file.category != "firmware":
            raise InvalidInput(f"file {file_id} is not a firmware file of station {station_id}")
        seconds = max(self.url_ttl_s, int((valid_until - self.clock.now()).total_seconds()) + 86400)
        return await self._link(file, file.current_version, min(seconds, 7 * 86400))

    async def _link(self, file: StationFile, number: int, ttl_s: int) -> Link:
        version = await repository.version(file.id, number)
        if version is None:
            raise NotFound(f"file {file.id} has no version {number}")
        url = await self.storage.download_url(
            version.storage_key, filename=file.name, content_type=version.content_type, expires_in_s=ttl_s
        )
        return Link(url, self.clock.now() + timedelta(seconds=ttl_s))

    async def delete(self, viewer: Viewer | None, file_id: int) -> None:
        """Remove a file and every version's bytes; the rows stay (marked deleted) for the audit trail."""
        file = await repository.file(file_id)
        if file is None:
            raise NotFound(f"file {file_id} does not exist")
        operator_id = await self.access.require_station(viewer, Permission.MANAGE_FILES, file.station_id)
        actor = require_viewer(viewer)
        versions = await repository.versions(file.id)
        await repository.update_file(file.id, deleted_at=self.clock.now())
        for version in versions:
            await self.storage.delete(version.storage_key)
        await self.audit.record(AuditRecord(
            actor=Actor(actor.user_id, actor.name), action="file.delete", outcome="done", operator_id=operator_id,
            station_id=file.station_id, target=f"file {file.id} ({file.name})",
            details={"file_id": file.id, "versions": len(versions)},
        ))

    # -- uploads by piles (GetDiagnostics) ------------------------------------------------------------

    def diagnostics_upload_link(self, charge_point_id: str) -> Link:
        """A time-limited URL a pile may PUT or POST one diagnostics file to."""
        nonce = secrets.token_hex(8)
        expires = int(self.clock.now().timestamp()) + max(self.url_ttl_s, 3600)
        resource = f"diagnostics/{charge_point_id}/{nonce}"
        signature = self.upload_signer.sign("PUT", resource, expires)
        url = f"{self.public_url}/pile-uploads/{resource}?expires={expires}&sig={signature}"
        return Link(url, datetime.fromtimestamp(expires, self.clock.now().tzinfo))

    def check_upload(self, charge_point_id: str, nonce: str, expires: str, signature: str) -> None:
        """Raise BadSignature / LinkExpired unless this is a link we gave this pile."""
        if not expires.isdigit() or len(expires) > 12:
            raise BadSignature("the link is incomplete or malformed")
        self.upload_signer.verify(
            "PUT", f"diagnostics/{charge_point_id}/{nonce}", int(expires), None, signature,
            now=int(self.clock.now().timestamp()),
        )

    async def _readable(self, viewer: Viewer | None, file_id: int) -> StationFile:
        file = await repository.file(file_id)
        if file is None:
            raise NotFound(f"file {file_id} does not exist")
        await self.access.require_station(viewer, Permission.READ_FILES, file.station_id)
        return file

    async def _audit(self, actor: Actor, action: str, operator_id: int | None, view: FileView) -> None:
        await self.audit.record(AuditRecord(
            actor=actor, action=action, outcome="done", operator_id=operator_id, station_id=view.file.station_id,
            charge_point_id=view.file.charge_point_id, target=f"file {view.file.id} v{view.version.version}",
            details={"name": view.file.name, "category": view.file.category},
            result={"size_bytes": view.version.size_bytes, "content_type": view.version.content_type,
                    "sha256": view.version.sha256},
        ))
