"""``create_app``: the Starlette application of one ChargeOps node, with its lifespan.

Routes: ``/graphql`` (HTTP and graphql-transport-ws), ``/graphiql/static`` (GraphiQL, served offline),
``/ocpp/{chargePointId}`` (OCPP-J WebSocket), ``/pay/notify/{provider}`` (payment notifications),
``/sandbox/pay/{out_trade_no}`` (the sandbox's pay button), ``/healthz``, ``/readyz``, ``/metrics``. The order worker (payments,
starts, caps, settlement) and the sweep of sessions piles never closed run for the app's lifetime.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.middleware import Middleware
from starlette.requests import HTTPConnection, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route, WebSocketRoute

from api.cluster.node import ClusterNode
from api.container import Services, build_services
from api.core.redis_bus import RedisBus
from api.core import metrics
from api.core.db import open_database, ping_database
from api.core.logs import RequestContext
from api.demo import seed_demo
from api.graphql.context import Context
from api.graphql.schema import schema
from api.graphql.view import graphql_routes
from api.ocpp import schemas as ocpp_schemas
from api.ocpp.gateway import LocalGateway
from api.ocpp.server import DIALECTS, OcppServer
from api.settings import Settings
from api.web.files import file_routes
from api.web.pay import pay_routes
from api.web.qr import qr_routes

log = logging.getLogger(__name__)


GC_GEN0_THRESHOLD = 10_000
"""Allocations between young collections (CPython's default: 700). Each MeterValues allocates a few thousand
objects that die young by reference counting; with 700 the young generation is collected several times per
message, and survivors reach the old generations, whose full collection walks every object of every
connected pile."""
GC_REFREEZE_GROWTH = 1.5
GC_REFREEZE_EVERY_S = 3600.0


async def keep_heap_frozen(piles_connected: Callable[[], int], check_every_s: float = 60.0) -> None:
    """Move what is alive to the collector's permanent generation (``gc.freeze``) after start-up, again when
    the connected fleet grew by half, and once an hour. A full collection walks every tracked object: at
    10,000 piles that stopped the event loop 1.6-1.8 s once a minute (bench/RESULTS.md), and every answer due
    meanwhile waited. Frozen objects are not walked, so a frozen object that becomes cyclic garbage (a pile
    that left) stays until the hourly refreeze, which unfreezes everything and collects once (one full
    collection per hour instead of one per minute); a refreeze for growth collects only what is not frozen."""
    gc.set_threshold(GC_GEN0_THRESHOLD, *gc.get_threshold()[1:])
    frozen_for, frozen_at = -1, time.monotonic()
    while True:
        connected = piles_connected()
        hourly = time.monotonic() - frozen_at >= GC_REFREEZE_EVERY_S
        if hourly or connected >= max(frozen_for * GC_REFREEZE_GROWTH, frozen_for + 500):
            if hourly:
                gc.unfreeze()
                frozen_at = time.monotonic()
            gc.collect()
            gc.freeze()
            frozen_for = connected
            log.info("heap frozen with %d piles connected (%d objects)", connected, gc.get_freeze_count())
        await asyncio.sleep(check_every_s)


def create_app(
    settings: Settings,
    *,
    services: Services | None = None,
    demo_piles: int = 0,
) -> Starlette:
    """Build the app; ``demo_piles > 0`` seeds the demo (with that many piles) into an empty database."""
    services = services or build_services(settings)
    ocpp_server = OcppServer(services)
    readiness = {"up": False}
    local = LocalGateway(ocpp_server.registry)
    # several nodes share the database through a Redis bus; one node alone reaches its piles directly
    cluster = (
        ClusterNode(services, services.bus, local, liveness_ttl_s=settings.node_liveness_s)
        if isinstance(services.bus, RedisBus)
        else None
    )
    services.commands.use(cluster or local)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        for dialect in DIALECTS:
            ocpp_schemas.load(dialect)  # compile validators before the first pile arrives
        database = await open_database(settings.database_url)
        worker: asyncio.Task[None] | None = None
        sweeper: asyncio.Task[None] | None = None
        freezer: asyncio.Task[None] | None = None
        try:
            if cluster is None:
                await services.charge_points.mark_all_offline()
            else:  # other nodes hold their piles; a dead node's are freed by the sweep
                await cluster.start()
            ensure_bucket = getattr(services.storage, "ensure_bucket", None)
            if ensure_bucket is not None:  # S3-compatible storage: create the bucket on first start
                await ensure_bucket()
            if demo_piles and await seed_demo(services, demo_piles):
                log.info("seeded the demo: 3 stations, %d piles", demo_piles)
            readiness["up"] = True
            worker = asyncio.create_task(
                services.orders.run_forever() if cluster is None else cluster.lead("orders", services.orders.run_forever),
                name="order worker",
            )
            # on every node: each close is a conditional update, so two nodes sweeping close nothing twice
            sweeper = asyncio.create_task(services.charging.sweep_forever(
                settings.session_stale_after_s, settings.session_sweep_interval_s), name="session sweep")
            if settings.gc_freeze:
                freezer = asyncio.create_task(keep_heap_frozen(lambda: len(ocpp_server.registry)), name="gc freeze")
            yield
        finally:
            readiness["up"] = False
            for task in (worker, sweeper, freezer):
                if task is not None:
                    task.cancel()
                    await asyncio.gather(task, return_exceptions=True)
            await ocpp_server.close_all()
            await services.metering.drain()  # what piles sent before they went is stored before the database closes
            if cluster is not None:
                await cluster.stop()
            await services.station_access.drain()
            await services.bus.close()
            await services.storage.close()
            for close in services.closers:
                await close()
            await database.close_connections()

    async def context(connection: HTTPConnection) -> Context:
        return Context(services=services, request=connection)

    async def health(request: Request) -> JSONResponse:
        """Alive: the process answers (a load balancer's liveness probe)."""
        return JSONResponse({"status": "ok", "node": services.charge_points.node,
                             "piles_connected": len(ocpp_server.registry)})

    async def ready(request: Request) -> JSONResponse:
        """Ready for traffic: started, not shutting down, its database and Redis answer."""
        problems = [] if readiness["up"] else ["starting or shutting down"]
        try:
            await asyncio.wait_for(ping_database(), 2)
        except Exception as error:
            problems.append(f"database: {error or type(error).__name__}")
        if cluster is not None:
            try:
                await asyncio.wait_for(cluster.bus.redis.ping(), 2)
            except Exception as error:
                problems.append(f"redis: {error or type(error).__name__}")
        body = {"status": "ready" if not problems else "unavailable", "node": services.charge_points.node}
        return JSONResponse({**body, "problems": problems} if problems else body, status_code=503 if problems else 200)

    async def prometheus(request: Request) -> Response:
        metrics.piles_connected.set(len(ocpp_server.registry))
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    app = Starlette(
        routes=[
            *graphql_routes(schema, context, max_upload_bytes=settings.files_max_bytes),
            WebSocketRoute("/ocpp/{charge_point_id:str}", ocpp_server.endpoint),
            Route("/healthz", health),
            Route("/readyz", ready),
            Route("/metrics", prometheus),
            *file_routes(services),
            *pay_routes(services),
            *qr_routes(services),
        ],
        lifespan=lifespan,
        middleware=[Middleware(RequestContext)],
    )
    app.state.services = services
    app.state.ocpp = ocpp_server
    return app
