"""Text a request may carry: every string, literal or variable, must be text the database
can store. Two kinds of character cannot be:

- NUL (U+0000): PostgreSQL refuses it in text and fails the statement (SQLite stores it);
- a lone surrogate (U+D800 to U+DFFF), which JSON's "\\ud800" escape lets through: it
  has no UTF-8 form, so both drivers fail to encode it.

Either surfaced as INTERNAL_SERVER_ERROR (an order id "\\u0000"); they are refused before
anything runs, the same on both databases, as VALIDATION_FAILED.
"""

from __future__ import annotations

import re
from typing import Any

from graphql import BREAK, DocumentNode, StringValueNode, Visitor, visit

_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
UNSTORABLE_MESSAGE = (
    "Text may not contain the NUL character (U+0000) or a lone surrogate (U+D800 to U+DFFF)"
)


def is_storable(text: str) -> bool:
    return _UNSTORABLE.search(text) is None


class _UnstorableLiteralFinder(Visitor):
    def __init__(self) -> None:
        super().__init__()
        self.found: StringValueNode | None = None

    def enter_string_value(self, node: StringValueNode, *_args: object) -> Any:
        if not is_storable(node.value):
            self.found = node
            return BREAK
        return None


def unstorable_literal(document: DocumentNode) -> StringValueNode | None:
    """The first string literal in the document the database could not store, if any."""
    finder = _UnstorableLiteralFinder()
    visit(document, finder)
    return finder.found


def holds_unstorable_text(value: object) -> bool:
    """True when a decoded JSON value holds unstorable text in any string or key.
    Iterative, so a deeply nested value cannot exhaust the stack."""
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            if not is_storable(item):
                return True
        elif isinstance(item, dict):
            pending.extend(item.keys())
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
    return False
