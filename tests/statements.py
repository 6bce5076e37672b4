"""Recording the SQL the app sends: the write side's through the engine, the read side's
through its observers, with the connections each used."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from sqlalchemy import event
from starlette.applications import Starlette


class Recorded(list[tuple[str, Any]]):
    """(SQL, parameters) in the order sent; `read_connections` holds the numbers of the
    read side's connections that sent any."""

    def __init__(self) -> None:
        super().__init__()
        self.read_connections: set[int] = set()
        self.reads: list[str] = []


@contextlib.contextmanager
def recorded_statements(app: Starlette) -> Iterator[Recorded]:
    recorded = Recorded()

    def written(
        _conn: Any, _cursor: Any, statement: str, parameters: Any, _ctx: Any, _many: bool
    ) -> None:
        recorded.append((statement, parameters))

    def read(connection: int, statement: str, parameters: Any) -> None:
        recorded.append((statement, parameters))
        recorded.reads.append(statement)
        recorded.read_connections.add(connection)

    engine = app.state.engine.sync_engine
    observers = app.state.reads.observers
    event.listen(engine, "before_cursor_execute", written)
    observers.append(read)
    try:
        yield recorded
    finally:
        event.remove(engine, "before_cursor_execute", written)
        observers.remove(read)
