"""The ``chargeops`` command line: serve, migrate, simulate, qr, export-schema."""

from __future__ import annotations

import argparse
import logging
import os
import ssl
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from api.simulator.run import register as register_simulate

if TYPE_CHECKING:
    from api.settings import Settings

DEFAULT_SCHEMA_PATH = Path("schema/schema.graphql")


def tls_options(settings: Settings) -> dict[str, Any]:
    """uvicorn's TLS arguments from the settings: none without a certificate. A client certificate is asked
    for but optional (CERT_OPTIONAL), so profile 0-2 piles connect over the same port as profile 3 ones; the
    WebSocket protocol passes the verified certificate on to the handshake (``api.ocpp.security``)."""
    if not settings.tls_cert_file:
        return {}
    options: dict[str, Any] = {"ssl_certfile": settings.tls_cert_file, "ssl_keyfile": settings.tls_key_file or None}
    if settings.tls_client_ca_file:
        options |= {"ssl_ca_certs": settings.tls_client_ca_file, "ssl_cert_reqs": ssl.CERT_OPTIONAL}
    return options


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    from api.app import create_app
    from api.settings import Settings, SettingsError

    try:
        settings = Settings.from_env()
    except SettingsError as error:
        print(f"chargeops: {error}", file=sys.stderr)
        return 2
    from api.core.logs import configure

    configure(args.log_level, settings.log_format)
    if args.log_level != "debug":  # one line per OCPP frame is for debugging only
        logging.getLogger("api.ocpp.traffic").setLevel(logging.WARNING)
    from api.demo import DEMO_LOGINS, DEMO_PASSWORD

    demo_piles = args.demo_piles if args.demo else 0
    app = create_app(settings, demo_piles=demo_piles)
    host_for_links = "127.0.0.1" if args.host in ("0.0.0.0", "::") else args.host
    tls = tls_options(settings)
    secure = "s" if tls else ""
    print(f"ChargeOps on {settings.database_url}")
    print(f"  GraphQL + GraphiQL   http{secure}://{host_for_links}:{args.port}/graphql")
    print(f"  OCPP 1.6J + 2.0.1    ws{secure}://{host_for_links}:{args.port}/ocpp/<chargePointId>   (subprotocol ocpp1.6 or ocpp2.0.1)")
    if args.demo:
        print(f"  demo piles           DEMO-0001 ... DEMO-{demo_piles:04d}; try: chargeops simulate --piles {demo_piles}")
        print(f"  demo staff logins    {', '.join(DEMO_LOGINS)} (password {DEMO_PASSWORD}; demo data only)")
        if settings.ocpp_default_security_profile in (1, 2):
            print("  demo pile passwords  DEMO-0001-chargeops ... (Basic auth, pile id + '-chargeops'; simulate sends them)")
    sys.stdout.flush()
    from api.ocpp.security import TlsWebSocketProtocol

    uvicorn.run(
        app,
        host=args.host,
        port=args.port,
        ws=TlsWebSocketProtocol,  # websockets-sansio, with the client certificate in the ASGI scope
        ws_max_size=max(settings.ocpp_max_frame_bytes, 1 << 20),
        log_level=args.log_level,
        log_config=None,  # our handler (api.core.logs) writes every line, with the pile and request
        lifespan="on",
        **tls,
    )
    return 0


def _export_schema(args: argparse.Namespace) -> int:
    from api.graphql.schema import export_sdl

    text = export_sdl()
    if args.output == "-":
        sys.stdout.write(text)
    else:
        Path(args.output).parent.mkdir(parents=True, exist_ok=True)
        Path(args.output).write_text(text, encoding="utf-8")
        print(f"wrote {args.output}")
    return 0


def _migrate(args: argparse.Namespace) -> int:
    """Bring the database's schema up to date (nodes also do it when they start)."""
    import asyncio

    from api.core.db import DatabaseNotMigrated, migrate_database
    from api.settings import Settings, SettingsError

    try:
        settings = Settings.from_env()
    except SettingsError as error:
        print(f"chargeops: {error}", file=sys.stderr)
        return 2
    try:
        applied = asyncio.run(migrate_database(settings.database_url, args.target))
    except DatabaseNotMigrated as error:
        print(f"chargeops: {error}", file=sys.stderr)
        return 1
    print(f"applied {', '.join(applied)}" if applied else "the schema is up to date")
    return 0


def _qr(args: argparse.Namespace) -> int:
    """Write each connector's QR images of a station, and print their URLs (to print the stickers)."""
    import asyncio

    from api.container import build_services
    from api.core.db import open_database
    from api.core.errors import DomainError
    from api.qr import images
    from api.settings import Settings, SettingsError

    try:
        settings = Settings.from_env()
    except SettingsError as error:
        print(f"chargeops: {error}", file=sys.stderr)
        return 2

    async def write() -> int:
        database = await open_database(settings.database_url)
        try:
            codes = await build_services(settings, providers={}).qr.codes_for_station(args.station)
        except DomainError as error:
            print(f"chargeops: {error.message}", file=sys.stderr)
            return 1
        finally:
            await database.close_connections()
        out = Path(args.output)
        out.mkdir(parents=True, exist_ok=True)
        print(f"{codes.station_name} ({codes.station_address})")
        for entry in codes.entries:
            stem = out / f"{entry.charge_point_id}-{entry.connector_no}-{entry.code}"
            stem.with_suffix(".png").write_bytes(images.png(entry.url))
            stem.with_suffix(".svg").write_text(images.svg(entry.url), encoding="utf-8")
            print(f"  {entry.charge_point_id} 枪{entry.connector_no}  {entry.url}  -> {stem}.png/.svg")
        return 0

    return asyncio.run(write())


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="chargeops", description="ChargeOps: EV charging operations platform")
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="run a node: GraphQL API, OCPP server")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=int(os.environ.get("CHARGEOPS_PORT", "8000")),
                       help="default: $CHARGEOPS_PORT or 8000")
    serve.add_argument("--demo", action="store_true", help="seed demo stations and piles into an empty database")
    serve.add_argument("--demo-piles", type=int, default=6, help="how many demo piles --demo seeds (default 6)")
    serve.add_argument("--log-level", default="info", choices=["critical", "error", "warning", "info", "debug"])
    serve.set_defaults(func=_serve)

    migrate = commands.add_parser("migrate", help="apply the database migrations not applied yet")
    migrate.add_argument("--target", default=None, help="stop at this migration (e.g. 0001_initial); may go back")
    migrate.set_defaults(func=_migrate)

    export = commands.add_parser("export-schema", help="write the GraphQL SDL")
    export.add_argument("--output", default=str(DEFAULT_SCHEMA_PATH), help="file to write, or - for stdout")
    export.set_defaults(func=_export_schema)

    qr = commands.add_parser("qr", help="write the QR images of a station's connectors and print their URLs")
    qr.add_argument("--station", type=int, required=True, help="station id")
    qr.add_argument("--output", default="qr", help="folder for the PNG and SVG files (default ./qr)")
    qr.set_defaults(func=_qr)

    register_simulate(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    args = build_parser().parse_args(argv)
    return int(args.func(args))
