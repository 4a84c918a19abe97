"""Hot statements compiled once per dialect to the driver's own SQL.

A Core statement run with `Connection.execute` costs about 70 us of CPU on
PostgreSQL, of which the database driver's own work is about 30: the rest is
SQLAlchemy's per-execution cache look-up, execution context, parameter
processing and result set (docs/benchmarks.md, issue 18). A statement run on
every bid (a proposal's version, its audit event, its GitHub writes) is
compiled here once per dialect and run with `exec_driver_sql`: the same SQL,
the same transaction, SQLAlchemy's errors (a deadlock is still a `DBAPIError`
the worker retries), and each value converted by its column type's own bind
processor, as SQLAlchemy would (timestamps on SQLite).
"""

from __future__ import annotations

import re
from typing import Any, Callable, Optional

import sqlalchemy as sa


class _Form:
    __slots__ = ("sql", "order", "processors", "fixed")

    def __init__(self, sql: str, order: Optional[tuple[str, ...]], processors: dict[str, Callable[[Any], Any]], fixed: dict[str, Any]):
        self.sql = sql
        self.order = order  # positional drivers (SQLite): the parameters' order
        self.processors = processors
        self.fixed = fixed  # the statement's own values, converted


class DriverStatement:
    """A statement with named parameters (`keys`: every one it takes, all given at each
    execution), compiled per dialect the first time it runs there."""

    def __init__(self, statement: sa.sql.expression.Executable, keys: tuple[str, ...]):
        self.statement = statement
        self.keys = tuple(keys)
        self._keyset = frozenset(self.keys)
        self._forms: dict[str, _Form] = {}

    def _form(self, dialect: sa.Dialect) -> _Form:
        form = self._forms.get(dialect.name)
        if form is None:
            column_keys = list(self.keys) if isinstance(self.statement, sa.sql.dml.Insert) else None
            compiled = self.statement.compile(dialect=dialect, column_keys=column_keys)
            if dialect.paramstyle == "qmark":
                used = list(compiled.positiontup)
            elif dialect.paramstyle == "pyformat":
                used = list(dict.fromkeys(re.findall(r"%\((\w+)\)s", compiled.string)))
            else:  # pragma: no cover - the two databases the bot runs on are above
                raise NotImplementedError(dialect.paramstyle)
            # The statement's own values (a status it looks for, a LIMIT) are fixed when compiled.
            fixed = {name: compiled.binds[name].effective_value for name in used if name not in self.keys}
            if not set(self.keys) <= set(used) or any(value is None for value in fixed.values()):
                # A column default SQLAlchemy would have computed, or a key the statement does not take.
                raise ValueError(f"the statement takes {sorted(used)}; it is given {sorted(self.keys)}")
            processors = {}
            for name in used:
                processor = compiled.binds[name].type.dialect_impl(dialect).bind_processor(dialect)
                if processor is not None:
                    processors[name] = processor
            fixed = {name: (processors[name](value) if name in processors else value) for name, value in fixed.items()}
            form = self._forms[dialect.name] = _Form(compiled.string, tuple(used) if dialect.paramstyle == "qmark" else None, processors, fixed)
        return form

    def execute(self, connection: sa.Connection, params: dict[str, Any]) -> sa.CursorResult:
        if params.keys() != self._keyset:
            # A value the statement has no place for would be dropped without a word.
            raise ValueError(f"the statement takes {sorted(self.keys)}; it is given {sorted(params)}")
        form = self._form(connection.dialect)
        processors = form.processors
        values = {name: (processors[name](value) if name in processors else value) for name, value in params.items()}
        if form.fixed:
            values.update(form.fixed)
        if form.order is not None:
            return connection.exec_driver_sql(form.sql, tuple(values[name] for name in form.order))
        return connection.exec_driver_sql(form.sql, values)
