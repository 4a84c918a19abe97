"""Hot statements compiled once per dialect to the driver's own SQL.

A Core statement run with `Connection.execute` costs about 70 us of CPU on
PostgreSQL, of which the database driver's own work is about 30: the rest is
SQLAlchemy's per-execution cache look-up, execution context, parameter
processing and result set (docs/benchmarks.md, issue 18). A statement run on
every bid (a proposal's version, its audit event, its GitHub writes) is
compiled here once per dialect and run on the connection's driver cursor: the
same SQL, the same transaction, SQLAlchemy's errors (a deadlock is still a
`DBAPIError` the worker retries; a dropped connection is invalidated), and each
value converted by its column type's own bind processor, and each value read
back by its result processor, as SQLAlchemy would (timestamps and booleans on
SQLite). `persistent` makes a row of a table the session's object, as a query
would load it. `exec_driver_sql` still cost about 40 us a statement
of execution context and result set over the driver's own 70 (this machine,
2026-12-02): a bid runs eight of these; its worker's instructions fell 12 % on
PostgreSQL and 13 % on SQLite without them (docs/benchmarks.md, seventh pass).
SQLAlchemy's `before_cursor_execute` and `after_cursor_execute` events do not
see these statements; the bot listens to neither.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any, Callable, Optional

import sqlalchemy as sa
from sqlalchemy.orm import Session, make_transient_to_detached
from sqlalchemy.orm.attributes import set_committed_value

from storage import libpq
from storage.driver_errors import driver_error


class _Form:
    __slots__ = ("sql", "keys", "order", "processors", "fixed", "returns_rows", "results", "libpq_sql", "libpq_order")

    def __init__(
        self, sql: str, keys: frozenset, order: Optional[tuple[str, ...]], processors: dict[str, Callable[[Any], Any]], fixed: dict[str, Any], returns_rows: bool
    ):
        self.sql = sql
        self.keys = keys  # the values each execution gives, no more and no fewer
        self.order = order  # positional drivers (SQLite): the parameters' order
        self.processors = processors
        self.fixed = fixed  # the statement's own values, converted
        self.returns_rows = returns_rows  # a SELECT, or DML with RETURNING
        # Each result column's conversion (None: the driver's value as it is), from its type's
        # result processor as SQLAlchemy would apply it; () when no column needs one; None
        # until the first rows came back (a processor may ask the driver's type code, as
        # PostgreSQL's numeric does).
        self.results: Optional[tuple[Optional[Callable[[Any], Any]], ...]] = None
        # PostgreSQL (psycopg): the statement for libpq (storage/libpq.py), its `$1`
        # parameters in this order; None elsewhere.
        self.libpq_sql: Optional[bytes] = None
        self.libpq_order: tuple[str, ...] = ()


class DriverStatement:
    """A statement compiled per dialect the first time it runs there. Its keys, given at
    every execution: for an INSERT, the `columns` it writes; for any other statement,
    its named parameters (`sa.bindparam`) that have no value of their own."""

    def __init__(self, statement: sa.sql.expression.Executable, columns: tuple[str, ...] = ()):
        if not isinstance(statement, (sa.Select, sa.sql.dml.UpdateBase)):
            # Whether it returns rows is known from what it is; raw SQL could be either.
            raise TypeError(f"a compiled statement is a SELECT, an INSERT, an UPDATE or a DELETE, not {type(statement).__name__}")
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
            returns_rows = isinstance(self.statement, sa.Select) or len(self.statement.exported_columns) > 0
            form = _Form(compiled.string, keys, order, processors, fixed, returns_rows)
            if dialect.name == "postgresql" and dialect.driver == "psycopg":
                form.libpq_sql, form.libpq_order = _numbered(compiled.string)
            self._forms[dialect.name] = form
        return form

    def _results(self, dialect: sa.Dialect, description) -> tuple[Optional[Callable[[Any], Any]], ...]:
        columns = list(self.statement.exported_columns)
        results = tuple(column.type.dialect_impl(dialect).result_processor(dialect, entry[1]) for column, entry in zip(columns, description))
        return results if any(results) else ()

    def _arguments(self, form: _Form, params: dict[str, Any]):
        if params.keys() != form.keys:
            # A value the statement has no place for would be dropped without a word.
            raise ValueError(f"the statement takes {sorted(form.keys)}; it is given {sorted(params)}")
        processors = form.processors
        values = {name: (processors[name](value) if name in processors else value) for name, value in params.items()}
        if form.fixed:
            values.update(form.fixed)
        return tuple(values[name] for name in form.order) if form.order is not None else values

    def execute_many(self, connection: sa.Connection, many: list[dict[str, Any]]) -> None:
        """Runs a statement that returns no rows once for each of `many`, as `execute`
        would one by one, in one call: on PostgreSQL the rows' statements go to the server
        together, and their answers are awaited once, not once a row (libpq's pipeline,
        `libpq.run_many`, in the middle of a transaction; else the cursor's `executemany`,
        psycopg's pipeline). One row is run as `execute` runs it."""
        form = self._form(connection.dialect)
        if form.returns_rows:
            raise TypeError("execute_many runs statements that return no rows")
        if len(many) == 1:
            self._run(connection, form, self._arguments(form, many[0]))
        elif many:
            self._run(connection, form, [self._arguments(form, params) for params in many], many=True)

    def execute(self, connection: sa.Connection, params: dict[str, Any]) -> "Rows":
        """Runs the statement on the connection's driver cursor, in the connection's
        transaction (begun first, as SQLAlchemy would, when none is), and returns its
        rows. A driver's error is raised as SQLAlchemy raises it (a `DBAPIError` whose
        `orig` is the driver's: a deadlock is still one the worker runs again), and a
        connection found dropped is invalidated, as SQLAlchemy does."""
        form = self._form(connection.dialect)
        return self._run(connection, form, self._arguments(form, params))

    def _run(self, connection: sa.Connection, form: _Form, arguments, many: bool = False) -> "Rows":
        dialect = connection.dialect
        if not connection.in_transaction():
            connection.begin()
        if form.libpq_sql is not None and not many and (form.results is not None or not form.returns_rows):
            # Its rows' conversions known (from a first run on a cursor): straight through libpq.
            try:
                rows = libpq.run(connection.connection, form.libpq_sql, [arguments[name] for name in form.libpq_order], form.returns_rows)
            except dialect.loaded_dbapi.Error as error:
                raise driver_error(connection, form.sql, arguments, error, None) from error
            if rows is not None:
                return Rows(self._converted(form, rows))
        if form.libpq_sql is not None and many and _together(connection, [(form, values) for values in arguments]):
            return Rows([])
        cursor = connection.connection.cursor()
        try:
            if many:
                cursor.executemany(form.sql, arguments)
                return Rows([])
            cursor.execute(form.sql, arguments)
            if not form.returns_rows:
                return Rows([])
            rows = cursor.fetchall()
            if form.results is None:
                form.results = self._results(dialect, cursor.description)
            return Rows(self._converted(form, rows))
        except dialect.loaded_dbapi.Error as error:
            raise driver_error(connection, form.sql, arguments, error, cursor) from error
        finally:
            cursor.close()

    @staticmethod
    def _converted(form: _Form, rows: list) -> list:
        if form.results:
            return [tuple(value if convert is None or value is None else convert(value) for convert, value in zip(form.results, row)) for row in rows]
        return rows


def run_together(connection: sa.Connection, runs: list[tuple[DriverStatement, dict[str, Any]]]) -> None:
    """Statements that return no rows, each with its values, run in their order as
    `execute` would run them one after the other; on PostgreSQL in one round trip
    (libpq's pipeline, `libpq.run_many`, in the middle of a transaction), where one a
    statement was a wait for the server and a wake-up of both processes. A statement
    the database refuses raises SQLAlchemy's error for it, and those after it are not
    run (the transaction is aborted, as after any refused statement)."""
    if len(runs) < 2:
        for statement, params in runs:  # one statement: as `execute` runs it (no pipeline to set up)
            statement.execute(connection, params)
        return
    if not connection.in_transaction():
        connection.begin()
    forms = []
    for statement, params in runs:
        form = statement._form(connection.dialect)
        if form.returns_rows:
            raise TypeError("run_together runs statements that return no rows")
        forms.append((statement, form, statement._arguments(form, params)))
    if all(form.libpq_sql is not None for _, form, _ in forms) and _together(connection, [(form, arguments) for _, form, arguments in forms]):
        return
    for statement, form, arguments in forms:
        statement._run(connection, form, arguments)


def _together(connection: sa.Connection, runs: list[tuple[_Form, Any]]) -> bool:
    """Forms and their converted values, through `libpq.run_many`; False (nothing sent)
    where it does not apply."""
    dialect = connection.dialect
    try:
        return libpq.run_many(connection.connection, [(form.libpq_sql, [arguments[name] for name in form.libpq_order]) for form, arguments in runs])
    except libpq.Refused as refused:
        form, arguments = runs[refused.index]
        raise driver_error(connection, form.sql, arguments, refused.error, None) from refused.error
    except dialect.loaded_dbapi.Error as error:
        form, arguments = runs[0]
        raise driver_error(connection, form.sql, arguments, error, None) from error


def _numbered(sql: str) -> tuple[bytes, tuple[str, ...]]:
    """A pyformat statement with libpq's parameters: each `%(name)s` numbered `$1`, `$2`...
    in the order the names first appear (as psycopg numbers them), `%%` a `%` again."""
    order: dict[str, int] = {}

    def number(match: re.Match) -> str:
        name = match.group(1)
        if name is None:
            return "%"
        return "$%d" % order.setdefault(name, len(order) + 1)

    return re.sub(r"%%|%\((\w+)\)s", number, sql).encode(), tuple(order)


class Rows:
    """A compiled statement's rows, read whole (they are one or none): what its callers ask of them."""

    __slots__ = ("rows",)

    def __init__(self, rows: list):
        self.rows = rows

    def first(self) -> Optional[tuple]:
        return self.rows[0] if self.rows else None

    def scalar(self) -> Any:
        return self.rows[0][0] if self.rows else None

    def scalar_one(self) -> Any:
        if len(self.rows) != 1:
            raise sa.exc.NoResultFound("no row was found") if not self.rows else sa.exc.MultipleResultsFound("more than one row was found")
        return self.rows[0][0]


@lru_cache(maxsize=None)
def _attribute_keys(model: type) -> tuple[tuple[str, ...], tuple[int, ...]]:
    """The model's attribute for each column of its table, in the table's order, and the
    positions of its primary key."""
    mapper = sa.inspect(model)
    columns = list(mapper.local_table.columns)
    keys = tuple(mapper.get_property_by_column(column).key for column in columns)
    primary = tuple(columns.index(column) for column in mapper.primary_key)
    return keys, primary


def table_row(model: type) -> sa.Select:
    """A SELECT of every column of the model's table, in its order: rows for `persistent`."""
    return sa.select(*sa.inspect(model).local_table.columns)


class ObjectStatement(DriverStatement):
    """A compiled `table_row(model)` (narrowed by its caller) whose rows are the session's
    objects, as a query of the model would give them (`persistent`)."""

    def __init__(self, model: type, statement: sa.Select):
        super().__init__(statement)
        self.model = model

    def objects(self, session: Session, params: dict[str, Any], refresh: bool = False) -> list:
        session._autoflush()  # a query flushes the session's pending changes first
        return [persistent(session, self.model, row, refresh) for row in self.execute(session.connection(), params).rows]


def persistent(session: Session, model: type, row: tuple, refresh: bool = False) -> Any:
    """The session's object for a row of `table_row(model)`, as a query would give it: the
    one its identity map holds (as it is, as the ORM returns it without
    `populate_existing`; with `refresh`, given the row's values, as with it), else a new
    one, loaded with the row and persistent in the session (its changes flushed like
    any loaded object's). Without the ORM's loading of a result (its context, its row
    processing): with it, reading the opportunity every command locks fell from about
    16 % of a PostgreSQL worker's samples to about 6 % (issue 18, eighth pass)."""
    keys, primary = _attribute_keys(model)
    mapper = sa.inspect(model)
    found = session.identity_map.get(mapper.identity_key_from_primary_key([row[i] for i in primary]))
    if found is not None:
        if refresh:
            for key, value in zip(keys, row):
                set_committed_value(found, key, value)
        return found
    obj = mapper.class_manager.new_instance()
    sa.inspect(obj).dict.update(zip(keys, row))  # as loading sets them: no history, no events
    make_transient_to_detached(obj)
    session.add(obj)
    return obj
