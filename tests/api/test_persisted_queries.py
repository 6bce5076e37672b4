"""Persisted queries, as Apollo's clients speak them: a document known by its SHA-256 hash,
learned the first time a client sends both; and, when the service is told so, only the
documents of a registered manifest run."""

from __future__ import annotations

import hashlib
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import ValidationError

from sales_api.app import create_app
from sales_api.settings import Settings
from tests.conftest import Api
from tests.statements import recorded_statements

GRAPHQL = "/sales/v1/graphql"
ORDERS = "query Orders { orders { totalItems } }"
OTHER = "query Stops { stopPlaces { id } }"


def digest(document: str) -> str:
    return hashlib.sha256(document.encode()).hexdigest()


def persisted(document_hash: str) -> dict[str, Any]:
    return {"persistedQuery": {"version": 1, "sha256Hash": document_hash}}


async def post(api: Api, body: dict[str, Any]) -> httpx.Response:
    headers = {"Authorization": f"Bearer {await api.token()}", "Entur-POS": "test-pos"}
    return await api.client.post(GRAPHQL, json=body, headers=headers)


async def test_a_hash_is_learned_from_the_document_sent_with_it(api: Api) -> None:
    # The client tries the hash alone first: unknown.
    first = await post(api, {"extensions": persisted(digest(ORDERS))})
    assert first.status_code == 200
    [error] = first.json()["errors"]
    assert (error["message"], error["extensions"]["code"]) == (
        "PersistedQueryNotFound",
        "PERSISTED_QUERY_NOT_FOUND",
    )
    # Then the document with its hash: run, and kept.
    sent = await post(api, {"query": ORDERS, "extensions": persisted(digest(ORDERS))})
    assert sent.json()["data"] == {"orders": {"totalItems": 0}}
    # From now on the hash alone is enough.
    again = await post(api, {"extensions": persisted(digest(ORDERS))})
    assert again.json()["data"] == {"orders": {"totalItems": 0}}
    assert again.json()["extensions"]["cost"] == sent.json()["extensions"]["cost"]


@pytest.mark.parametrize(
    ("extensions", "message"),
    [
        (persisted(digest(OTHER)), "does not match"),
        ({"persistedQuery": {"version": 2, "sha256Hash": digest(ORDERS)}}, "version: 1"),
        (persisted("not-a-hash"), "64 lowercase hex digits"),
        ({"persistedQuery": "x"}, "version: 1"),
    ],
    ids=["hash-of-another-document", "unknown-version", "malformed-hash", "not-an-object"],
)
async def test_a_wrong_persisted_query_is_a_bad_request(
    api: Api, extensions: dict[str, Any], message: str
) -> None:
    response = await post(api, {"query": ORDERS, "extensions": extensions})
    assert response.status_code == 400
    [error] = response.json()["errors"]
    assert error["extensions"]["code"] == "BAD_REQUEST"
    assert message in error["message"]


@asynccontextmanager
async def registered_only(settings: Settings, manifest: Path) -> AsyncIterator[Api]:
    app = create_app(
        settings.model_copy(
            update={"persisted_queries": "registered", "persisted_queries_file": manifest}
        )
    )
    try:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://testserver"
        ) as client:
            api = Api(client)
            api.app = app  # type: ignore[attr-defined]
            yield api
    finally:
        await app.state.reads.close()
        await app.state.engine.dispose()


async def test_only_registered_documents_run_when_the_service_says_so(
    settings: Settings, tmp_path: Path
) -> None:
    manifest = tmp_path / "manifest.json"
    manifest.write_text(
        json.dumps(
            {
                "format": "apollo-persisted-query-manifest",
                "version": 1,
                "operations": [
                    {"id": digest(ORDERS), "name": "Orders", "type": "query", "body": ORDERS}
                ],
            }
        )
    )
    async with registered_only(settings, manifest) as api:
        by_hash = await post(api, {"extensions": persisted(digest(ORDERS))})
        assert by_hash.json()["data"] == {"orders": {"totalItems": 0}}
        by_text = await post(api, {"query": ORDERS})
        assert by_text.json()["data"] == {"orders": {"totalItems": 0}}
        with recorded_statements(api.app) as statements:  # type: ignore[attr-defined]
            refused = [
                await post(api, {"query": OTHER}),
                await post(api, {"query": OTHER, "extensions": persisted(digest(OTHER))}),
                await post(api, {"extensions": persisted(digest(OTHER))}),
            ]
        for response in refused:
            assert response.status_code == 200
            body = response.json()
            assert body["data"] is None
            [error] = body["errors"]
            assert error["extensions"]["code"] == "PERSISTED_QUERY_NOT_IN_LIST"
        assert statements == []


def test_registered_only_needs_a_manifest(settings: Settings) -> None:
    with pytest.raises(ValidationError, match="SALES_PERSISTED_QUERIES_FILE"):
        Settings(**{**settings.model_dump(), "persisted_queries": "registered"})
