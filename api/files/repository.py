"""Every query of station files."""

from __future__ import annotations

from typing import Any

from api.models import StationFile, StationFileVersion


async def create_file(**values: Any) -> StationFile:
    return await StationFile.create(**values)


async def file(file_id: int) -> StationFile | None:
    return await StationFile.get_or_none(id=file_id, deleted_at=None)


async def file_for_update(file_id: int) -> StationFile | None:
    return await StationFile.filter(id=file_id, deleted_at=None).select_for_update().first()


async def update_file(file_id: int, **values: Any) -> None:
    await StationFile.filter(id=file_id).update(**values)


async def add_version(**values: Any) -> StationFileVersion:
    return await StationFileVersion.create(**values)


async def version(file_id: int, number: int) -> StationFileVersion | None:
    return await StationFileVersion.get_or_none(file_id=file_id, version=number)


async def versions(file_id: int) -> list[StationFileVersion]:
    return await StationFileVersion.filter(file_id=file_id).order_by("-version")


async def files_of(station_id: int, category: str | None) -> list[StationFile]:
    query = StationFile.filter(station_id=station_id, deleted_at=None)
    if category is not None:
        query = query.filter(category=category)
    return await query.order_by("category", "name", "id")


async def current_versions(files: list[StationFile]) -> dict[int, StationFileVersion]:
    if not files:
        return {}
    wanted = {(f.id, f.current_version) for f in files}
    rows = await StationFileVersion.filter(file_id__in=[f.id for f in files])
    return {row.file_id: row for row in rows if (row.file_id, row.version) in wanted}
