"""What a client asked for below a field, free of any GraphQL library: response keys,
field names and the selections below them. Hashable, so plans are cached per shape."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Selected:
    key: str
    """The response key: the alias, or the field's name."""
    name: str
    """The field's name in the schema."""
    below: Selection | None = None


@dataclass(frozen=True, slots=True)
class Selection:
    fields: tuple[Selected, ...] = ()

    def names(self) -> frozenset[str]:
        return frozenset(field.name for field in self.fields)

    def under(self, name: str) -> tuple[Selected, ...]:
        """Every occurrence of field `name` (one per alias)."""
        return tuple(field for field in self.fields if field.name == name)


def selection(*fields: str | tuple[str, Selection]) -> Selection:
    """A selection written by hand (tests, the service's own reads): names, or
    (name, selection) pairs for objects."""
    built: list[Selected] = []
    for field in fields:
        if isinstance(field, str):
            built.append(Selected(field, field))
        else:
            name, below = field
            built.append(Selected(name, name, below))
    return Selection(tuple(built))


class Built:
    """An answer the read side built whole (a dict, or a list of them) for a field whose
    selection it was given: the executor hands it over as it is."""

    __slots__ = ("value",)

    def __init__(self, value: object) -> None:
        self.value = value
