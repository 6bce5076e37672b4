"""sales-api serve | db upgrade | seed | token | export-schema."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Callable
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


def shown_url(database_url: str) -> str:
    """The database URL as it may be printed: the password masked."""
    from sqlalchemy.engine import make_url

    return make_url(database_url).render_as_string(hide_password=True)


def _upgrade(settings: Settings) -> tuple[str | None, str]:
    """Migrates the database; returns its revision before and after."""
    import sqlite3

    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import SQLAlchemyError

    from sales_api.persistence.migrate import current_revision, head_revision, upgrade

    url = make_url(settings.database_url)
    # A database that cannot be reached or opened: one line, not a traceback.
    cannot_open = f"sales-api: SALES_DATABASE_URL: cannot open {url.render_as_string()}"
    try:
        if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
            # Opened here first: aiosqlite failing to open a file can print a stray
            # traceback from its worker thread.
            sqlite3.connect(url.database).close()
        before = current_revision(settings.database_url)
        upgrade(settings.database_url)
    except sqlite3.Error as error:
        sys.exit(f"{cannot_open}: {error}")
    except (OSError, SQLAlchemyError) as error:
        sys.exit(f"{cannot_open}: {getattr(error, 'orig', None) or error}")
    return before, head_revision()


def _migrated(before: str | None, after: str) -> str:
    if before == after:
        return f"at revision {after}, nothing to migrate"
    return f"migrated from {before or 'an empty database'} to revision {after}"


def _upgrade_command(_args: argparse.Namespace) -> None:
    settings = _settings()
    before, after = _upgrade(settings)
    print(f"{shown_url(settings.database_url)}: {_migrated(before, after)}")


def _seed_command(args: argparse.Namespace) -> None:
    settings = _settings()
    _upgrade(settings)
    added = _seed(settings, args.file)
    source = args.file or "the demo catalogue"
    print(
        f"{shown_url(settings.database_url)}: loaded {source} "
        f"(the catalogue replaced; {added - 1} distribution channel rows added)"
    )


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
    _port_free_or_exit(args.host, args.port)
    before, after = _upgrade(settings)
    seeded = ""
    if settings.seed_demo:
        # The demo only where no catalogue is loaded.
        loaded = _seed(settings, None, replace=False) > 0
        seeded = "the demo catalogue loaded" if loaded else "a catalogue was loaded already"
    if settings.builtin_issuer:
        from sales_api.app import create_dev_issuer

        try:
            create_dev_issuer(settings)  # make the signing key once, before the workers start
        except OSError as error:
            sys.exit(f"sales-api: SALES_DATA_DIR: cannot keep the issuer key there: {error}")
    base = f"http://{args.host}:{args.port}"
    explorer = "GraphiQL" if settings.graphiql_enabled else "GraphQL (explorer off)"
    print(f"Sales API {_version()}: {explorer} at {base}/sales/v1/graphql", flush=True)
    facts = [_migrated(before, after)] + ([seeded] if seeded else [])
    print(f"Database: {shown_url(settings.database_url)} ({'; '.join(facts)})", flush=True)
    if settings.builtin_issuer:
        print(
            f"Get a token:  {_program()} token --client-id demo-app\n"
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
    key = settings.issuer_key_file.resolve()
    if not key.exists():
        # Never a new key here: a token signed by it would be refused by the service.
        sys.exit(
            f"sales-api: no issuer key at {key}. The service keeps it in its data folder "
            f"(SALES_DATA_DIR, now {settings.data_dir}, relative to the folder it was started "
            "in): run this command from that folder, or set SALES_DATA_DIR to it. "
            "`sales-api serve` makes the key when it first starts."
        )
    issuer = create_dev_issuer(settings)
    try:
        print(issuer.mint(issuer.client(args.client_id))["access_token"])
    except IssuerError as error:
        sys.exit(f"sales-api: {error.description}: {args.client_id!r}")


def export_schema(args: argparse.Namespace) -> None:
    from sales_api.schema.build import build_schema

    if args.errors:
        from sales_api.schema.error_reference import markdown_errors

        print(markdown_errors(), end="")
        return
    from sales_api.schema.versions import without_beta

    schema = build_schema()
    sdl = (schema if args.beta else without_beta(schema)).as_str()
    if args.markdown:
        from sales_api.schema.reference import markdown_reference

        print(markdown_reference(sdl), end="")
    else:
        print(sdl)


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("sales-api")
    except PackageNotFoundError:
        return "unknown"


def _program() -> str:
    """How this command was called, for the hints it prints (.venv/bin/sales-api, say)."""
    called = sys.argv[0] if sys.argv and sys.argv[0] else ""
    return called if Path(called).name == "sales-api" else "sales-api"


def _port_free_or_exit(host: str, port: int) -> None:
    """A port in use is said before any banner, with what to do about it."""
    import socket

    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as error:
            sys.exit(
                f"sales-api: cannot listen on {host}:{port}: {error.strerror or error}. "
                "Is the service (or something else) running there already? Stop it, or "
                "choose another port with --port."
            )


def _bounded(low: int, high: int) -> Callable[[str], int]:
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"{value} is not between {low} and {high}")
        return value

    return parse


def main(argv: list[str] | None = None) -> None:
    defaults = argparse.ArgumentDefaultsHelpFormatter
    parser = argparse.ArgumentParser(
        prog="sales-api",
        description="The Sales API: " + (__doc__ or "").strip(),
        epilog="Settings come from SALES_* environment variables (see the README).",
    )
    parser.add_argument("--version", action="version", version=f"sales-api {_version()}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    serve_parser = commands.add_parser(
        "serve",
        help="run the service (migrates and seeds first)",
        description="Migrate the database, load the demo catalogue where none is loaded "
        "(SALES_SEED_DEMO), and serve GraphQL at /sales/v1/graphql.",
        formatter_class=defaults,
    )
    serve_parser.add_argument("--host", default="127.0.0.1", help="the address to listen on")
    serve_parser.add_argument(
        "--port", type=_bounded(1, 65535), default=8000, help="the TCP port to listen on"
    )
    serve_parser.add_argument(
        "--workers",
        type=_bounded(1, 64),
        default=1,
        help="server processes; more than 1 needs PostgreSQL to share the work well",
    )
    serve_parser.set_defaults(run=serve)

    db_parser = commands.add_parser("db", help="database commands")
    db_commands = db_parser.add_subparsers(dest="db_command", required=True, metavar="COMMAND")
    upgrade_parser = db_commands.add_parser(
        "upgrade",
        help="migrate SALES_DATABASE_URL to the newest revision",
        description="Migrate SALES_DATABASE_URL to the newest revision and say what was done.",
    )
    upgrade_parser.set_defaults(run=_upgrade_command)

    seed_parser = commands.add_parser(
        "seed",
        help="load a catalogue data file (default: the demo), replacing the loaded one",
        formatter_class=defaults,
    )
    seed_parser.add_argument(
        "--file", type=Path, default=None, help="a catalogue JSON file (none: the demo catalogue)"
    )
    seed_parser.set_defaults(run=_seed_command)

    token_parser = commands.add_parser(
        "token",
        help="print a token from the built-in issuer",
        description="Print an access token from the built-in issuer, signed with the key in "
        "the service's data folder (SALES_DATA_DIR).",
    )
    token_parser.add_argument(
        "--client-id",
        required=True,
        help="a client of the built-in issuer: demo-app (organisation 1) or other-app "
        "(organisation 2)",
    )
    token_parser.set_defaults(run=token)

    schema_parser = commands.add_parser("export-schema", help="print the GraphQL SDL")
    schema_parser.add_argument(
        "--markdown", action="store_true", help="the schema reference (docs/schema-reference.md)"
    )
    schema_parser.add_argument(
        "--errors", action="store_true", help="the error reference (docs/errors.md)"
    )
    schema_parser.add_argument(
        "--beta",
        action="store_true",
        help="the schema of /sales/v1beta/graphql (v1 and the beta fields) instead of v1's",
    )
    schema_parser.set_defaults(run=export_schema)

    args = parser.parse_args(argv)
    for name in unknown_variables(os.environ):
        print(f"sales-api: {name} is not a setting and is ignored", file=sys.stderr)
    args.run(args)


if __name__ == "__main__":
    main()
