"""Plain HTTP for files: signed download links of the local backend, and diagnostics uploads from piles.

``GET /files/{key}?expires=…&sig=…`` serves a station file through the link FileService made (local
backend only; S3 links point at the bucket itself). ``PUT|POST /pile-uploads/diagnostics/{pile}/{nonce}``
takes one diagnostics file from a pile (raw body, or the first file of a multipart form) through the
time-limited URL given in GetDiagnostics.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from api.container import Services
from api.core.errors import DomainError, NotFound
from api.files.signing import BadSignature, LinkExpired
from api.files.storage import LocalStorage, StoredFileMissing

log = logging.getLogger(__name__)


def file_routes(services: Services) -> list[Route]:
    async def download(request: Request) -> Response:
        storage = services.storage
        if not isinstance(storage, LocalStorage):
            return PlainTextResponse("files are served by the object store", status_code=404)
        try:
            found = await storage.open_signed(request.path_params["key"], request.query_params)
        except (BadSignature, LinkExpired) as error:
            return PlainTextResponse(error.message, status_code=403)
        except (StoredFileMissing, NotFound):
            return PlainTextResponse("no such file", status_code=404)
        except DomainError as error:
            return PlainTextResponse(error.message, status_code=400)
        return Response(
            found.data,
            media_type=found.content_type,
            headers={
                "Content-Disposition": found.content_disposition,
                "Cache-Control": "private, no-store",
                "X-Content-Type-Options": "nosniff",
            },
        )

    async def pile_upload(request: Request) -> Response:
        charge_point_id = request.path_params["charge_point_id"]
        nonce = request.path_params["nonce"]
        try:
            services.files.check_upload(
                charge_point_id, nonce, request.query_params.get("expires", ""), request.query_params.get("sig", "")
            )
        except (BadSignature, LinkExpired) as error:
            return PlainTextResponse(error.message, status_code=403)
        limit = services.settings.files_max_bytes
        declared = request.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit + 64 * 1024:
            return PlainTextResponse(f"at most {limit} bytes", status_code=413)
        name = f"{charge_point_id}-diagnostics-{datetime.now(UTC):%Y%m%dT%H%M%SZ}"
        if request.headers.get("content-type", "").startswith("multipart/form-data"):
            async with request.form(max_files=1, max_fields=10, max_part_size=limit) as form:
                part = next((v for v in form.values() if not isinstance(v, str)), None)
                if part is None:
                    return PlainTextResponse("the form holds no file", status_code=400)
                data = await part.read(limit + 1)
                name = part.filename or name
        else:
            chunks, size = [], 0
            async for chunk in request.stream():
                size += len(chunk)
                if size > limit:
                    return PlainTextResponse(f"at most {limit} bytes", status_code=413)
                chunks.append(chunk)
            data = b"".join(chunks)
        if len(data) > limit:
            return PlainTextResponse(f"at most {limit} bytes", status_code=413)
        try:
            cp = await services.charge_points.get(charge_point_id)
            if cp.station_id is None:
                return PlainTextResponse("this pile belongs to no station", status_code=409)
            view = await services.files.store_diagnostics(charge_point_id, cp.station_id, name, data)
        except DomainError as error:
            return PlainTextResponse(error.message, status_code=400)
        log.info("%s uploaded diagnostics: file %d (%d bytes)", charge_point_id, view.file.id, len(data))
        return PlainTextResponse("stored", status_code=201)

    return [
        Route("/files/{key:path}", download, methods=["GET"]),
        Route("/pile-uploads/diagnostics/{charge_point_id:str}/{nonce:str}", pile_upload, methods=["PUT", "POST"]),
    ]
