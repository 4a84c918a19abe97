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
    __slots__ = ("sql", "keys", "order", "processors", "fixed")

    def __init__(self, sql: str, keys: frozenset, order: Optional[tuple[str, ...]], processors: dict[str, Callable[[Any], Any]], fixed: dict[str, Any]):
        self.sql = sql
        self.keys = keys  # the values each execution gives, no more and no fewer
        self.order = order  # positional drivers (SQLite): the parameters' order
        self.processors = processors
        self.fixed = fixed  # the statement's own values, converted


class DriverStatement:
    """A statement compiled per dialect the first time it runs there. Its keys, given at
    every execution: for an INSERT, the `columns` it writes; for any other statement,
    its named parameters (`sa.bindparam`) that have no value of their own."""

    def __init__(self, statement: sa.sql.expression.Executable, columns: tuple[str, ...] = ()):
        self.statement = statement
        self.columns = tuple(columns)
        self._forms: dict[str, _Form] = {}

    def _form(self, dialect: sa.Dialect) -> _Form:
        form = self._forms.get(dialect.name)
        if form is None:
            insert = isinstance(self.statement, sa.sql.dml.Insert)
            compiled = self.statement.compile(dialect=dialect, column_keys=list(self.columns) if insert else None)
            if dialect.paramstyle == "qmark":
                used = list(compiled.positiontup)
            elif dialect.paramstyle == "pyformat":
                used = list(dict.fromkeys(re.findall(r"%\((\w+)\)s", compiled.string)))
            else:
                # The bot runs on SQLite and PostgreSQL (DATABASE_URL), whose drivers take the two
                # styles above; any other driver is told so plainly at its first statement.
                raise NotImplementedError(f"{dialect.name}: {dialect.paramstyle} parameters (the bot runs on SQLite and PostgreSQL)")
            keys = frozenset(self.columns) if insert else frozenset(name for name in used if compiled.binds[name].required)
            # The statement's own values (a status it looks for, a LIMIT) are fixed when compiled.
            fixed = {name: compiled.binds[name].effective_value for name in used if name not in keys}
            if not keys <= set(used) or any(value is None for value in fixed.values()):
                # A column default SQLAlchemy would have computed, or a column the insert does not write.
                raise ValueError(f"the statement takes {sorted(used)}; it is given {sorted(keys)}")
            processors = {}
            for name in used:
                processor = compiled.binds[name].type.dialect_impl(dialect).bind_processor(dialect)
                if processor is not None:
                    processors[name] = processor
            fixed = {name: (processors[name](value) if name in processors else value) for name, value in fixed.items()}
            order = tuple(used) if dialect.paramstyle == "qmark" else None
            form = self._forms[dialect.name] = _Form(compiled.string, keys, order, processors, fixed)
        return form

    def execute(self, connection: sa.Connection, params: dict[str, Any]) -> sa.CursorResult:
        form = self._form(connection.dialect)
        if params.keys() != form.keys:
            # A value the statement has no place for would be dropped without a word.
            raise ValueError(f"the statement takes {sorted(form.keys)}; it is given {sorted(params)}")
        processors = form.processors
        values = {name: (processors[name](value) if name in processors else value) for name, value in params.items()}
        if form.fixed:
            values.update(form.fixed)
        if form.order is not None:
            return connection.exec_driver_sql(form.sql, tuple(values[name] for name in form.order))
        return connection.exec_driver_sql(form.sql, values)
