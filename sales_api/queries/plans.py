"""Selections compiled into reads: SQL for each level, and functions that build the
answer's dicts from the rows.

A `Statement` is one SELECT: the rows of one view that a parent level (or the root)
points at, with only the columns its uses need. A `Use` is one response key reading
those rows (`orderLines`, or two aliases of it): a generated function that turns a row
into a dict, and the relations below it, each one more Statement. Plans are compiled once
per (view, selection, dialect) and cached; running one (`complete`) is a generator that
yields each statement to run and receives its rows, so the same plan runs on a thread's
SQLite connection or over asyncpg.
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

import orjson
from sqlalchemy import Select, String, bindparam, func, literal_column, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.engine import Dialect

from sales_api.domain.payments import GROUP_OF, PaymentType
from sales_api.queries.selection import Selected, Selection
from sales_api.queries.views import (
    BOOL,
    GROUP,
    INT,
    ISO_STAMP,
    JSON,
    MONEY,
    RATE,
    RAW,
    STAMP,
    STR,
    VIEWS,
    Column,
    Embedded,
    JsonList,
    LineTravellers,
    Related,
    View,
)

Rows = Sequence[Sequence[Any]]
Query = tuple[str, tuple[Any, ...]]
"""SQL in the driver's paramstyle and its arguments, in order."""
Reading = Generator[Query, Rows, Any]


# ------------------------------------------------------------------ shown values


def money_text(minor: int) -> str:
    """Øre as the contract shows money: 80550 -> "805.50", -5000 -> "-50.00"."""
    if minor < 0:
        minor = -minor
        return f"-{minor // 100}.{minor % 100:02d}"
    return f"{minor // 100}.{minor % 100:02d}"


def rate_text(basis_points: int) -> str:
    return f"{basis_points // 100}.{basis_points % 100:02d}"


def json_value(value: Any) -> Any:
    return orjson.loads(value) if isinstance(value, str | bytes) else value


_GROUPS = {kind.value: GROUP_OF[kind].value for kind in PaymentType}


def iso_stamp(text: str) -> str:
    """An ISO 8601 timestamp kept in JSON (with its offset) as the contract shows it."""
    return datetime.fromisoformat(text).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


CONVERTERS: dict[str, Callable[[Any], Any]] = {
    MONEY: money_text,
    BOOL: bool,
    RATE: rate_text,
    JSON: json_value,
    GROUP: _GROUPS.__getitem__,
    INT: int,
    STR: str,
    ISO_STAMP: iso_stamp,
}


def shown_stamp(column: Any, dialect: str) -> Any:
    """A timestamp column formatted by the database: '2026-11-27T10:15:00Z'."""
    if dialect == "sqlite":
        return func.strftime(literal_column("'%Y-%m-%dT%H:%M:%SZ'"), column)
    utc = column.op("AT TIME ZONE")(literal_column("'UTC'"))
    return func.to_char(utc, literal_column('\'YYYY-MM-DD"T"HH24:MI:SS"Z"\''))


def keys_clause(column: Any, dialect: str, name: str = "keys") -> Any:
    """`column` is one of a list of keys given as one parameter (a JSON array on SQLite,
    an array on PostgreSQL), so the SQL text is the same for any number of keys."""
    if dialect == "sqlite":
        keys: Select[Any] = select(literal_column("value")).select_from(
            func.json_each(bindparam(name, required=False))
        )
        return column.in_(keys)
    return column == func.any(bindparam(name, type_=ARRAY(String), required=False))


# ------------------------------------------------------------------ compiled statements


@dataclass(frozen=True, slots=True)
class CompiledSql:
    sql: str
    names: tuple[str, ...]
    fixed: dict[str, Any]
    """Values compiled into the statement (constants of a view's condition, a filter's)."""

    def query(self, values: dict[str, Any] | None = None) -> Query:
        given = self.fixed if not values else {**self.fixed, **values}
        return self.sql, tuple(given[name] for name in self.names)


def compile_sql(statement: Select[Any], dialect: Dialect) -> CompiledSql:
    """The statement in the driver's own paramstyle with the values it holds (lists in
    `IN` rendered as one parameter each); parameters left open are given to `query`."""
    compiled = statement.compile(dialect=dialect, compile_kwargs={"render_postcompile": True})
    names = tuple(compiled.positiontup or ())
    return CompiledSql(compiled.string, names, dict(compiled.construct_params()))


class Columns:
    """The select list of one statement, each column once."""

    def __init__(self, dialect: str, prefix: Sequence[Any] = ()) -> None:
        self.dialect = dialect
        self.expressions: list[Any] = list(prefix)
        self._index: dict[tuple[int, bool], int] = {}

    def index(self, column: Any, *, stamp: bool = False) -> int:
        key = (id(column), stamp)
        found = self._index.get(key)
        if found is None:
            found = self._index[key] = len(self.expressions)
            self.expressions.append(shown_stamp(column, self.dialect) if stamp else column)
        return found


# ------------------------------------------------------------------ plans


@dataclass(slots=True)
class Use:
    key: str
    """The parent's response key this use fills (unused at the root)."""
    build: Callable[..., dict[str, Any]]
    relations: tuple[Relation, ...]
    source: str
    """The generated builder's source, for debugging."""


@dataclass(slots=True)
class Statement:
    view: View
    sql: CompiledSql
    uses: tuple[Use, ...]
    key_index: int = 0
    """Where the row's key for routing to its parent is (children only)."""


@dataclass(slots=True)
class Relation:
    kind: str  # "many", "one" or "line_travellers"
    statement: Statement


def _object_source(
    view_name: str,
    fields: dict[str, Any],
    selection: Selection,
    columns: Columns,
    relations: list[tuple[str, tuple[Selected, ...], Any]],
    names: dict[str, Any],
) -> str:
    """A Python expression building the dict of one object from row `r`."""
    items: list[str] = []
    for selected in selection.fields:
        key = repr(selected.key)
        if selected.name == "__typename":
            items.append(f"{key}: {view_name!r}")
            continue
        spec = fields.get(selected.name)
        if spec is None:
            raise KeyError(f"{view_name}.{selected.name} has no read-side definition")
        if isinstance(spec, Column):
            items.append(f"{key}: {_leaf(spec, columns, names)}")
        elif isinstance(spec, Embedded):
            below = selected.below or Selection()
            inner = _object_source(spec.type_name, spec.fields, below, columns, [], names)
            if spec.null_unless:
                checks = " and ".join(f"r[{columns.index(c)}] is None" for c in spec.null_unless)
                inner = f"(None if {checks} else {inner})"
            items.append(f"{key}: {inner}")
        elif isinstance(spec, JsonList):
            below = selected.below or Selection()
            entries = []
            for item in below.fields:
                if item.name == "__typename":
                    entries.append(f"{item.key!r}: {spec.type_name!r}")
                    continue
                json_key = spec.fields[item.name]
                value = f"_e[{json_key.key!r}]"
                if json_key.optional:
                    value = f"_e.get({json_key.key!r})"
                value = _converted(value, json_key.shown, names)
                entries.append(f"{item.key!r}: {value}")
            names["_json"] = json_value
            source = f"r[{columns.index(spec.column)}]"
            items.append(f"{key}: [{{{', '.join(entries)}}} for _e in _json({source})]")
        else:  # a relation, filled once its rows are read
            many = isinstance(spec, LineTravellers) or spec.many
            items.append(f"{key}: {'[]' if many else 'None'}")
            group = next((entry for entry in relations if entry[0] == selected.name), None)
            if group is None:
                relations.append((selected.name, (selected,), spec))
            else:
                relations[relations.index(group)] = (group[0], (*group[1], selected), spec)
    return "{" + ", ".join(items) + "}"


def _leaf(spec: Column, columns: Columns, names: dict[str, Any]) -> str:
    index = columns.index(spec.column, stamp=spec.shown == STAMP)
    value = f"r[{index}]"
    if spec.shown in (RAW, STAMP):
        return value
    converted = _converted(value, spec.shown, names)
    if spec.column.nullable:
        return f"(None if {value} is None else {converted})"
    return converted


def _converted(value: str, shown: str, names: dict[str, Any]) -> str:
    if shown in (RAW, STAMP):
        return value
    name = f"_{shown}"
    names[name] = CONVERTERS[shown]
    return f"{name}({value})"


def _use(view: View, selected_key: str, selection: Selection, columns: Columns) -> Use:
    names: dict[str, Any] = {}
    relations: list[tuple[str, tuple[Selected, ...], Any]] = []
    body = _object_source(view.name, view.fields, selection, columns, relations, names)
    lines = ["def _build(r, *_targets):", f"    _d = {body}"]
    compiled: list[Relation] = []
    for position, (_name, uses, spec) in enumerate(relations):
        if isinstance(spec, LineTravellers):
            order = columns.index(VIEWS["OrderLine"].source.c.order_id)
            ids = columns.index(VIEWS["OrderLine"].source.c.traveller_ids)
            names["_json"] = json_value
            lines.append(
                f"    _targets[{position}].setdefault(r[{order}], []).append((_d, _json(r[{ids}])))"
            )
            compiled.append(Relation("line_travellers", _travellers_statement(uses, columns)))
        else:
            parent_key = columns.index(spec.parent_key)
            lines.append(f"    _targets[{position}].setdefault(r[{parent_key}], []).append(_d)")
            kind = "many" if spec.many else "one"
            compiled.append(Relation(kind, _child_statement(spec, uses, columns.dialect)))
    lines.append("    return _d")
    source = "\n".join(lines)
    namespace = dict(names)
    exec(compile(source, f"<read {view.name}>", "exec"), namespace)  # noqa: S102
    return Use(selected_key, namespace["_build"], tuple(compiled), source)


def _child_statement(spec: Related, uses: tuple[Selected, ...], dialect: str) -> Statement:
    view = VIEWS[spec.view]
    columns = Columns(dialect, [spec.child_key])
    built = tuple(_use(view, s.key, s.below or Selection(), columns) for s in uses)
    where = [keys_clause(spec.child_key, dialect)]
    if view.where is not None:
        where.append(view.where)
    statement = (
        select(*columns.expressions).select_from(view.source).where(*where).order_by(*view.order_by)
    )
    return Statement(view, compile_sql(statement, _DIALECTS[dialect]), built)


def _travellers_statement(uses: tuple[Selected, ...], parent_columns: Columns) -> Statement:
    view = VIEWS["Traveller"]
    table = view.source
    dialect = parent_columns.dialect
    columns = Columns(dialect, [table.c.order_id, table.c.traveller_id])
    built = tuple(_use(view, s.key, s.below or Selection(), columns) for s in uses)
    statement = (
        select(*columns.expressions)
        .select_from(table)
        .where(keys_clause(table.c.order_id, dialect))
        .order_by(table.c.order_id, table.c.position)
    )
    return Statement(view, compile_sql(statement, _DIALECTS[dialect]), built)


_DIALECTS: dict[str, Dialect] = {}


def register_dialect(dialect: Dialect) -> str:
    """The dialect statements are compiled for (one per database kind)."""
    _DIALECTS.setdefault(dialect.name, dialect)
    return dialect.name


@dataclass(frozen=True, slots=True)
class RootPlan:
    """How to build the objects of a root read: its select list and its uses."""

    view: View
    columns: tuple[Any, ...]
    """What to select after the root's own `prefix` columns (a page's total, say)."""
    uses: tuple[Use, ...]

    @property
    def single_statement(self) -> bool:
        return all(not use.relations for use in self.uses)


@lru_cache(maxsize=512)
def root_plan(
    view_name: str, uses: tuple[Selected, ...], dialect: str, prefix: int = 0
) -> RootPlan:
    """The select list and builders for reading `view_name` objects for each of `uses`
    (one per response key; a single one mostly), after `prefix` columns of the root's."""
    view = VIEWS[view_name]
    columns = Columns(dialect, [None] * prefix)
    built = tuple(_use(view, s.key, s.below or Selection(), columns) for s in uses)
    return RootPlan(view, tuple(columns.expressions[prefix:]), built)


@lru_cache(maxsize=512)
def by_keys_sql(
    view_name: str, uses: tuple[Selected, ...], dialect: str, by: str | None = None
) -> CompiledSql:
    """Reading `view_name` objects by key (or by the column `by`) within the caller's
    organisation: that column first, then those of `root_plan(view_name, uses, dialect, 1)`."""
    plan = root_plan(view_name, uses, dialect, 1)
    view = plan.view
    assert view.scope is not None, f"{view_name} is not read by id"
    source, organisation = view.scope
    key = view.source.c[by] if by else view.key
    statement = (
        select(key, *plan.columns)
        .select_from(source)
        .where(
            keys_clause(key, dialect),
            organisation == bindparam("organisation", required=False),
        )
        .order_by(*view.order_by)
    )
    return compile_sql(statement, _DIALECTS[dialect])


# ------------------------------------------------------------------ running a plan


def complete(uses: Sequence[Use], rows: Rows) -> Reading:
    """Builds every use's objects from `rows`, then reads and attaches what they relate
    to, level by level (yields one statement per relation); returns the objects per use."""
    built: list[list[dict[str, Any]]] = []
    pending: list[tuple[Relation, dict[Any, list[Any]]]] = []
    for use in uses:
        indexes: list[dict[Any, list[Any]]] = [{} for _ in use.relations]
        built.append([use.build(row, *indexes) for row in rows])
        pending.extend(zip(use.relations, indexes, strict=True))
    for relation, targets in pending:
        if targets:
            yield from _fill(relation, targets)
    return built


def _fill(relation: Relation, targets: dict[Any, list[Any]]) -> Reading:
    statement = relation.statement
    rows = yield statement.sql.query({"keys": list(targets)})
    children = yield from complete(statement.uses, rows)
    uses = statement.uses
    if relation.kind == "line_travellers":
        by_traveller: dict[tuple[Any, Any], list[dict[str, Any]]] = {}
        for index, row in enumerate(rows):
            by_traveller[(row[0], row[1])] = [objects[index] for objects in children]
        for order_id, holders in targets.items():
            for parent, traveller_ids in holders:
                for position, use in enumerate(uses):
                    parent[use.key] = [
                        by_traveller[(order_id, tid)][position]
                        for tid in traveller_ids
                        if (order_id, tid) in by_traveller
                    ]
        return
    many = relation.kind == "many"
    key_index = statement.key_index
    for index, row in enumerate(rows):
        parents = targets.get(row[key_index])
        if not parents:
            continue
        for position, use in enumerate(uses):
            child = children[position][index]
            for parent in parents:
                if many:
                    parent[use.key].append(child)
                else:
                    parent[use.key] = child
