"""``create_app``: the Starlette application of one ChargeOps node, with its lifespan.

Routes: ``/graphql`` (HTTP and graphql-transport-ws), ``/graphiql/static`` (GraphiQL, served offline),
``/ocpp/{chargePointId}`` (OCPP-J WebSocket), ``/pay/notify/{provider}`` (payment notifications),
``/sandbox/pay/{out_trade_no}`` (the sandbox's pay button), ``/healthz``. The order worker (payments,
starts, caps, settlement) runs for the app's lifetime.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.requests import HTTPConnection, Request
from starlette.responses import JSONResponse
from starlette.routing import Route, WebSocketRoute

from api.cluster.node import ClusterNode
from api.container import Services, build_services
from api.core.redis_bus import RedisBus
from api.core.db import open_database
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


def create_app(
    settings: Settings,
    *,
    services: Services | None = None,
    demo_piles: int = 0,
) -> Starlette:
    """Build the app; ``demo_piles > 0`` seeds the demo (with that many piles) into an empty database."""
    services = services or build_services(settings)
    ocpp_server = OcppServer(services)
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
            worker = asyncio.create_task(
                services.orders.run_forever() if cluster is None else cluster.lead("orders", services.orders.run_forever),
                name="order worker",
            )
            yield
        finally:
            if worker is not None:
                worker.cancel()
                await asyncio.gather(worker, return_exceptions=True)
            await ocpp_server.close_all()
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
        return JSONResponse({"status": "ok", "piles_connected": len(ocpp_server.registry)})

    app = Starlette(
        routes=[
            *graphql_routes(schema, context, max_upload_bytes=settings.files_max_bytes),
            WebSocketRoute("/ocpp/{charge_point_id:str}", ocpp_server.endpoint),
            Route("/healthz", health),
            *file_routes(services),
            *pay_routes(services),
            *qr_routes(services),
        ],
        lifespan=lifespan,
    )
    app.state.services = services
    app.state.ocpp = ocpp_server
    return app
