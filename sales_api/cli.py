"""sales-api serve | db upgrade | seed | token | export-schema."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from pathlib import Path

from sales_api.settings import (
    ConfigurationError,
    Settings,
    settings_from_environment,
    unknown_variables,
)


def _settings() -> Settings:
    try:
        return settings_from_environment()
    except ConfigurationError as error:
        sys.exit(f"sales-api: bad configuration: {error}")


def _upgrade(settings: Settings) -> None:
    import sqlite3

    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import SQLAlchemyError

    from sales_api.persistence.migrate import upgrade

    url = make_url(settings.database_url)
    # A database that cannot be reached or opened: one line, not a traceback.
    cannot_open = f"sales-api: SALES_DATABASE_URL: cannot open {url.render_as_string()}"
    try:
        if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
            # Opened here first: aiosqlite failing to open a file can print a stray
            # traceback from its worker thread.
            sqlite3.connect(url.database).close()
        upgrade(settings.database_url)
    except sqlite3.Error as error:
        sys.exit(f"{cannot_open}: {error}")
    except (OSError, SQLAlchemyError) as error:
        sys.exit(f"{cannot_open}: {getattr(error, 'orig', None) or error}")


def _seed(settings: Settings, path: Path | None, *, replace: bool = True) -> int:
    from sales_api.persistence.database import create_engine
    from sales_api.persistence.seed import load_catalogue_file, seed_catalogue

    async def run() -> int:
        engine = create_engine(settings.database_url)
        try:
            return await seed_catalogue(engine, load_catalogue_file(path), replace=replace)
        finally:
            await engine.dispose()

    return asyncio.run(run())


def create_app_from_environment():  # type: ignore[no-untyped-def]
    """Uvicorn's factory: each worker process builds its app from the environment."""
    from sales_api.app import create_app
    from sales_api.web.correlation import configure_logging

    configure_logging()
    settings = _settings()
    _guard_connections(settings)
    return create_app(settings)


def _guard_connections(settings: Settings) -> None:
    """This process's limits on slow and idle clients (each worker sets its own)."""
    from sales_api.web.http_server import configure_limits, raise_open_file_limit

    configure_limits(
        settings.http_header_timeout_seconds,
        settings.http_body_timeout_seconds,
        settings.http_max_connections,
    )
    raise_open_file_limit(2 * settings.http_max_connections + 256)


def _stopped_gracefully(_signum: int, _frame: object) -> None:
    """uvicorn raises the signal that stopped it once more after its graceful shutdown (every
    request answered, the outbox message in hand sent): that is a clean exit, status 0, as
    it is with --workers above 1, where uvicorn's supervisor exits 0."""
    sys.exit(0)


def serve(args: argparse.Namespace) -> None:
    import signal

    import uvicorn

    settings = _settings()
    _upgrade(settings)
    if settings.seed_demo:
        _seed(settings, None, replace=False)  # the demo only where no catalogue is loaded
    if settings.builtin_issuer:
        from sales_api.app import create_dev_issuer

        try:
            create_dev_issuer(settings)  # make the signing key once, before the workers start
        except OSError as error:
            sys.exit(f"sales-api: SALES_DATA_DIR: cannot keep the issuer key there: {error}")
    base = f"http://{args.host}:{args.port}"
    explorer = "GraphiQL" if settings.graphiql_enabled else "GraphQL (explorer off)"
    print(f"Sales API: {explorer} at {base}/sales/v1/graphql", flush=True)
    if settings.builtin_issuer:
        print(
            "Get a token:  sales-api token --client-id demo-app\n"
            f"          or  curl -s -X POST {base}/oauth/token -H 'content-type: application/json' "
            '-d \'{"grant_type":"client_credentials","client_id":"demo-app",'
            '"client_secret":"demo-secret","audience":"' + settings.auth_audience + "\"}'",
            flush=True,
        )
    signal.signal(signal.SIGTERM, _stopped_gracefully)
    from sales_api.web.http_server import GuardedProtocol

    uvicorn.run(
        "sales_api.cli:create_app_from_environment",
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        log_level="warning",
        access_log=False,
        timeout_graceful_shutdown=settings.shutdown_timeout_seconds,
        timeout_keep_alive=settings.http_keep_alive_seconds,
        http=GuardedProtocol,
    )


def token(args: argparse.Namespace) -> None:
    from sales_api.app import create_dev_issuer
    from sales_api.web.issuer import IssuerError

    settings = _settings()
    if not settings.builtin_issuer:
        sys.exit("sales-api: the built-in issuer is off (SALES_BUILTIN_ISSUER=false)")
    issuer = create_dev_issuer(settings)
    try:
        print(issuer.mint(issuer.client(args.client_id))["access_token"])
    except IssuerError as error:
        sys.exit(f"sales-api: {error.description}: {args.client_id!r}")


def export_schema(args: argparse.Namespace) -> None:
    from sales_api.schema.build import build_schema

    sdl = build_schema().as_str()
    if args.markdown:
        from sales_api.schema.reference import markdown_reference

        print(markdown_reference(sdl), end="")
    else:
        print(sdl)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="sales-api", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    serve_parser = commands.add_parser("serve", help="run the service (migrates and seeds first)")
    serve_parser.add_argument("--host", default="127.0.0.1")
    serve_parser.add_argument("--port", type=int, default=8000)
    serve_parser.add_argument("--workers", type=int, default=1)
    serve_parser.set_defaults(run=serve)

    db_parser = commands.add_parser("db", help="database commands")
    db_commands = db_parser.add_subparsers(dest="db_command", required=True)
    upgrade_parser = db_commands.add_parser("upgrade", help="migrate to the newest revision")
    upgrade_parser.set_defaults(run=lambda _a: _upgrade(_settings()))

    seed_parser = commands.add_parser("seed", help="load a catalogue data file (default: demo)")
    seed_parser.add_argument("--file", type=Path, default=None)
    seed_parser.set_defaults(run=lambda a: print(json.dumps({"added": _seed(_settings(), a.file)})))

    token_parser = commands.add_parser("token", help="print a token from the built-in issuer")
    token_parser.add_argument("--client-id", required=True)
    token_parser.set_defaults(run=token)

    schema_parser = commands.add_parser("export-schema", help="print the GraphQL SDL")
    schema_parser.add_argument(
        "--markdown", action="store_true", help="the schema reference (docs/schema-reference.md)"
    )
    schema_parser.set_defaults(run=export_schema)

    args = parser.parse_args(argv)
    for name in unknown_variables(os.environ):
        print(f"sales-api: {name} is not a setting and is ignored", file=sys.stderr)
    args.run(args)


if __name__ == "__main__":
    main()
