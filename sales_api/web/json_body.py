"""Request bodies as JSON a GraphQL request can be: UTF-8, strict JSON (no NaN, no
Infinity, no number beyond a double), no key twice in one object (which value would
win is up to the parser: two `query` keys ran the last), and not nested deeper than
MAX_DEPTH. Anything else is refused before any GraphQL runs."""

from __future__ import annotations

import json
import math
from typing import Any

MAX_DEPTH = 100


class MalformedBody(Exception):
    """Why the body is not a JSON document a request can be (answered 400 BAD_REQUEST)."""


def _object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for key, value in pairs:
        if key in found:
            raise MalformedBody(f"The key {key[:50]!r} appears twice in one JSON object")
        found[key] = value
    return found


def _no_constant(name: str) -> Any:
    raise MalformedBody(f"{name} is not JSON")


def _finite(text: str) -> float:
    value = float(text)
    if math.isinf(value):
        raise MalformedBody(f"The number {text[:30]} is out of range")
    return value


def decode_body(body: bytes) -> object:
    """The decoded JSON value, or MalformedBody saying what is wrong with it."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise MalformedBody("The body is not UTF-8 text") from None
    try:
        value = json.loads(
            text, object_pairs_hook=_object, parse_constant=_no_constant, parse_float=_finite
        )
    except RecursionError:
        raise MalformedBody(f"The JSON is nested deeper than {MAX_DEPTH} levels") from None
    except json.JSONDecodeError as error:
        raise MalformedBody(f"Unable to parse request body as JSON: {error.msg}") from None
    if _deeper_than(value, MAX_DEPTH):
        raise MalformedBody(f"The JSON is nested deeper than {MAX_DEPTH} levels")
    return value


def _deeper_than(value: object, limit: int) -> bool:
    pending: list[tuple[object, int]] = [(value, 1)]
    while pending:
        item, depth = pending.pop()
        if isinstance(item, dict | list):
            if depth > limit:
                return True
            children = item.values() if isinstance(item, dict) else item
            pending.extend((child, depth + 1) for child in children)
    return False
