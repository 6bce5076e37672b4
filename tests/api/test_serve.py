"""`sales-api serve` as a user runs it: a real uvicorn process on a real port."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.served import free_port, running_service


@pytest.fixture
def served(tmp_path: Path, database_url: str) -> Iterator[tuple[str, dict[str, str]]]:
    port = free_port()
    env = {
        **os.environ,
        "SALES_DATABASE_URL": database_url,
        "SALES_DATA_DIR": str(tmp_path / "data"),
    }
    command = [sys.executable, "-m", "sales_api", "serve", "--port", str(port)]
    with running_service(
        command, env=env, cwd=tmp_path, port=port, ready_path="/.well-known/jwks.json"
    ) as base:
        yield base, env


def test_serve_answers_graphiql_and_a_token_from_the_cli_works(
    served: tuple[str, dict[str, str]],
) -> None:
    base, env = served
    page = httpx.get(f"{base}/sales/v1/graphql", headers={"Accept": "text/html"}, timeout=10)
    assert page.status_code == 200 and "graphiql" in page.text.lower()

    token = subprocess.run(
        [sys.executable, "-m", "sales_api", "token", "--client-id", "demo-app"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout.strip()
    headers = {
        "Authorization": f"Bearer {token}",
        "Entur-POS": "smoke",
        "Entur-Distribution-Channel": "ENT:DistributionChannel:App",
    }
    created = httpx.post(
        f"{base}/sales/v1/graphql",
        json={
            "query": 'mutation { createOrder(input: {externalReference: "smoke"}) '
            "{ order { id } errors { code } } }"
        },
        headers=headers,
        timeout=10,
    ).json()
    assert created["data"]["createOrder"]["errors"] == [], created
    order_id = created["data"]["createOrder"]["order"]["id"]
    found = httpx.post(
        f"{base}/sales/v1/graphql",
        json={
            "query": "query($id: ID!) { order(id: $id) { externalReference } }",
            "variables": {"id": order_id},
        },
        headers=headers,
        timeout=10,
    ).json()
    assert found["data"]["order"] == {"externalReference": "smoke"}


def test_the_oauth_endpoint_of_the_running_service(served: tuple[str, dict[str, str]]) -> None:
    base, _env = served
    response = httpx.post(
        f"{base}/oauth/token",
        content=json.dumps(
            {
                "grant_type": "client_credentials",
                "client_id": "demo-app",
                "client_secret": "demo-secret",
                "audience": "sales-api",
            }
        ),
        headers={"content-type": "application/json"},
        timeout=10,
    )
    assert response.status_code == 200
    assert response.json()["token_type"] == "Bearer"


def test_production_refuses_the_builtin_issuer(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "sales_api", "serve", "--port", str(free_port())],
        env={**os.environ, "SALES_ENV": "production", "SALES_DATA_DIR": str(tmp_path)},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert "SALES_BUILTIN_ISSUER" in result.stderr


def test_a_bad_setting_names_its_variable(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "sales_api", "db", "upgrade"],
        env={**os.environ, "SALES_DATABASE_URL": "mysql://nope"},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert "SALES_DATABASE_URL" in result.stderr
