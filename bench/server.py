"""The serving process of the bench: the real app (create_app) and the hand-written
baseline, each on its own loopback port, in one process and one event loop.

    python -m bench.server --database-url URL --data-dir DIR --graphql-port A --baseline-port B
"""

from __future__ import annotations

import argparse
import asyncio

import uvicorn

from bench.handwritten import handwritten_app
from sales_api.app import create_app
from sales_api.settings import Settings


async def serve(args: argparse.Namespace) -> None:
    settings = Settings(database_url=args.database_url, data_dir=args.data_dir)
    app = create_app(settings)
    baseline = handwritten_app(app.state.engine, app.state.verifier)
    servers = [
        uvicorn.Server(
            uvicorn.Config(
                target, host="127.0.0.1", port=port, log_level="warning", access_log=False
            )
        )
        for target, port in ((app, args.graphql_port), (baseline, args.baseline_port))
    ]
    await asyncio.gather(*(server.serve() for server in servers))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--data-dir", required=True)
    parser.add_argument("--graphql-port", type=int, required=True)
    parser.add_argument("--baseline-port", type=int, required=True)
    asyncio.run(serve(parser.parse_args()))


if __name__ == "__main__":
    main()
