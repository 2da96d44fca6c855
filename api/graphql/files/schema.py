"""Station files over GraphQL: upload (multipart request spec), versioned replace, list, signed links, delete."""

from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry.file_uploads import Upload

from api.core.errors import InvalidInput
from api.files.service import CATEGORIES, FileTooLarge, FileView
from api.graphql.context import Info
from api.graphql.errors import maps_domain_errors, parse_int_id
from api.graphql.operations.types import CommandResult
from api.models import StationFileVersion


@strawberry.type
class FileVersion:
    version: int
    size_bytes: int
    content_type: str = strawberry.field(description="Found from the bytes, never taken from the client.")
    sha256: str
    uploaded_at: datetime

    @classmethod
    def of(cls, row: StationFileVersion) -> FileVersion:
        return cls(version=row.version, size_bytes=row.size_bytes, content_type=row.content_type, sha256=row.sha256,
                   uploaded_at=row.uploaded_at)


@strawberry.type(description="A document of a station: permit, wiring diagram, inspection report, photo, firmware…")
class StationFile:
    id: strawberry.ID
    station_id: strawberry.ID
    category: str
    name: str
    charge_point_id: strawberry.ID | None
    current: FileVersion

    @classmethod
    def of(cls, view: FileView) -> StationFile:
        f = view.file
        return cls(
            id=strawberry.ID(str(f.id)), station_id=strawberry.ID(str(f.station_id)), category=f.category,
            name=f.name, charge_point_id=strawberry.ID(f.charge_point_id) if f.charge_point_id else None,
            current=FileVersion.of(view.version),
        )


@strawberry.type
class SignedLink:
    url: str
    expires_at: datetime


@strawberry.type
class DiagnosticsRequest:
    result: CommandResult
    upload_url_expires_at: datetime


async def _read(info: Info, upload: Upload) -> tuple[str, bytes]:
    limit = info.context.services.settings.files_max_bytes
    data = await upload.read(limit + 1)  # type: ignore[attr-defined]
    if len(data) > limit:
        raise FileTooLarge(f"the file is larger than {limit} bytes")
    return str(getattr(upload, "filename", "") or "file"), data


def _category(value: str) -> str:
    if value not in CATEGORIES:
        raise InvalidInput(f"category must be one of {', '.join(CATEGORIES)}")
    return value


@strawberry.type
class FileQueries:
    @strawberry.field(description="The station's files (current versions).")
    @maps_domain_errors
    async def station_files(self, info: Info, station_id: strawberry.ID, category: str | None = None) -> list[StationFile]:
        views = await info.context.services.files.list(
            await info.context.viewer(), parse_int_id(station_id, "station"),
            _category(category) if category is not None else None,
        )
        return [StationFile.of(v) for v in views]

    @strawberry.field(description="Every version of a file, newest first.")
    @maps_domain_errors
    async def station_file_versions(self, info: Info, file_id: strawberry.ID) -> list[FileVersion]:
        rows = await info.context.services.files.versions(await info.context.viewer(), parse_int_id(file_id, "file"))
        return [FileVersion.of(r) for r in rows]


@strawberry.type
class FileMutations:
    @strawberry.mutation(description="Upload a station file (multipart request); with replacesFileId, a new version.")
    @maps_domain_errors
    async def upload_station_file(
        self, info: Info, station_id: strawberry.ID, category: str, file: Upload,
        replaces_file_id: strawberry.ID | None = None,
    ) -> StationFile:
        name, data = await _read(info, file)
        view = await info.context.services.files.upload(
            await info.context.viewer(), parse_int_id(station_id, "station"), _category(category), name, data,
            replaces_file_id=parse_int_id(replaces_file_id, "file") if replaces_file_id is not None else None,
        )
        return StationFile.of(view)

    @strawberry.mutation(description="A time-limited download link (a mutation: each link is a new grant).")
    @maps_domain_errors
    async def station_file_link(self, info: Info, file_id: strawberry.ID, version: int | None = None) -> SignedLink:
        link = await info.context.services.files.download_link(
            await info.context.viewer(), parse_int_id(file_id, "file"), version
        )
        return SignedLink(url=link.url, expires_at=link.expires_at)

    @strawberry.mutation(description="Delete a file and the bytes of all its versions.")
    @maps_domain_errors
    async def delete_station_file(self, info: Info, file_id: strawberry.ID) -> bool:
        await info.context.services.files.delete(await info.context.viewer(), parse_int_id(file_id, "file"))
        return True

    @strawberry.mutation(description="Ask a pile for its diagnostics (GetDiagnostics) through a time-limited upload "
                                     "URL; the upload becomes a diagnostics file of its station.")
    @maps_domain_errors
    async def request_diagnostics(
        self, info: Info, charge_point_id: strawberry.ID, start_time: datetime | None = None,
        stop_time: datetime | None = None,
    ) -> DiagnosticsRequest:
        result, expires = await info.context.services.operations.request_diagnostics(
            await info.context.viewer(), str(charge_point_id), start_time, stop_time
        )
        return DiagnosticsRequest(result=CommandResult.of(str(charge_point_id), result), upload_url_expires_at=expires)

    @strawberry.mutation(description="Install a firmware file of the pile's station (UpdateFirmware) through a "
                                     "time-limited download URL.")
    @maps_domain_errors
    async def update_firmware(
        self, info: Info, charge_point_id: strawberry.ID, file_id: strawberry.ID, retrieve_at: datetime
    ) -> CommandResult:
        result = await info.context.services.operations.update_firmware(
            await info.context.viewer(), str(charge_point_id), parse_int_id(file_id, "file"), retrieve_at
        )
        return CommandResult.of(str(charge_point_id), result)
