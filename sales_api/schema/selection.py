"""What a query asks for below a field, so that nested lists are fetched once per level."""

from __future__ import annotations

from collections.abc import Iterable

from strawberry.types.nodes import FragmentSpread, InlineFragment, SelectedField, Selection


def _fields(selections: Iterable[Selection]) -> Iterable[SelectedField]:
    for selection in selections:
        if isinstance(selection, SelectedField):
            yield selection
        elif isinstance(selection, FragmentSpread | InlineFragment):
            yield from _fields(selection.selections)


def child(selections: Iterable[Selection], name: str) -> list[Selection]:
    """The selections under every occurrence of `name` (aliases and fragments included)."""
    found: list[Selection] = []
    for field in _fields(selections):
        if field.name == name:
            found.extend(field.selections)
    return found


def asks_for(selections: Iterable[Selection], name: str) -> bool:
    return any(field.name == name for field in _fields(selections))


def field_names(selections: Iterable[Selection]) -> set[str]:
    """The names of the fields selected at this level (fragments included)."""
    return {field.name for field in _fields(selections)}
