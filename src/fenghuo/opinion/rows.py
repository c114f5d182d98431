"""Batch writes for the pipeline's hot tables: one statement per batch.

Django's `bulk_create` builds an INSERT of at most 999 parameters on SQLite (45 posts a
statement), and `bulk_update` a `CASE WHEN` per field and row; both resolve every value
through the query compiler. In bench/opinion these took more time than segmenting, matching
and sentiment together. Here the SQL is built once per call and each value is adapted by
its field only where the database needs it (dates and times, JSON).

On SQLite the driver's `executemany` runs the statement for every row, in C. On PostgreSQL
psycopg's `executemany` costs ~20 µs of Python per row, so the wide post rows go through
COPY into a temporary table and one INSERT … SELECT (RETURNING what was inserted), and the
narrow, numerous rows (matches, topic-scheme links) through one INSERT over `unnest` of one
array per column, and updates through one UPDATE … FROM `unnest`. The arrays are sent in
binary (`%b`): the text form escapes every element with a regular expression, which for
the topics' JSON columns cost six times the binary form. All run on Django's connection, in
the batch's transaction, through a server-side-binding cursor (Django's own `ClientCursor`
quotes every value in Python).
"""

from collections.abc import Callable, Collection, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import psycopg
from django.db import connection, models, transaction
from django.db.models import Q

_PLAIN = {
    "AutoField",
    "BigAutoField",
    "BigIntegerField",
    "BooleanField",
    "CharField",
    "FloatField",
    "ForeignKey",
    "IntegerField",
    "PositiveIntegerField",
    "PositiveSmallIntegerField",
    "SlugField",
    "SmallIntegerField",
    "TextField",
    "URLField",
}


def _adapter(field: models.Field) -> Callable[[Any], Any] | None:
    """None when the driver takes the Python value as it is."""
    kind = field.get_internal_type()
    if kind in _PLAIN:
        return None

    def adapt(value: Any) -> Any:
        return field.get_db_prep_save(value, connection)

    if kind == "DateTimeField" and connection.vendor == "postgresql":
        # psycopg sends an aware datetime as timestamptz itself; Django's adaptation only
        # re-checks it (~10 µs a value, two per post). A naive one still goes through it.
        return lambda value: value if value is None or value.tzinfo else adapt(value)
    return adapt


def _values(objs: Sequence[models.Model], fields: Sequence[models.Field]) -> list[list[Any]]:
    adapters = [(field.attname, _adapter(field)) for field in fields]
    return [
        [adapt(getattr(obj, name)) if adapt else getattr(obj, name) for name, adapt in adapters]
        for obj in objs
    ]


@contextmanager
def _cursor() -> Iterator[Any]:
    if connection.vendor != "postgresql":
        with connection.cursor() as cursor:
            yield cursor
        return
    connection.ensure_connection()
    with psycopg.Cursor(connection.connection) as cursor:
        yield cursor


def _arrays(fields: Sequence[models.Field]) -> str:
    """One binary array parameter per field, cast to the column's type: `unnest`'s input."""
    return ", ".join(f"%b::{field.db_type(connection)}[]" for field in fields)


def _quote(name: str) -> str:
    return connection.ops.quote_name(name)


def insert_ignoring_conflicts(
    model: type[models.Model],
    objs: Sequence[models.Model],
    returning: Sequence[str] = (),
) -> list[tuple[Any, ...]] | None:
    """INSERT every object (all concrete fields but the primary key); rows that would break
    a unique constraint are skipped, as `bulk_create(ignore_conflicts=True)` does.

    With `returning` field names, on PostgreSQL: (pk, *those fields) of the rows inserted,
    skipped ones left out. SQLite's executemany cannot return rows: None there."""
    fields = [f for f in model._meta.concrete_fields if not f.primary_key]
    return _insert(model, fields, _values(objs, fields), returning)


def insert_columns(
    model: type[models.Model],
    columns: dict[str, Sequence[Any]],
    constants: dict[str, Any] | None = None,
) -> None:
    """INSERT rows given column by column (equal-length lists of plain values: numbers and
    text), plus `constants` the same in every row, skipping rows that would break a unique
    constraint. No model instance and no tuple per row.

    On PostgreSQL one statement over `unnest` of one array per column: psycopg's
    executemany costs ~20 µs of Python per row, which for the narrow, numerous rows here
    (a post's scheme matches, a topic's schemes) was most of the write."""
    constants = constants or {}
    names = [*columns, *constants]
    fields = [model._meta.get_field(name) for name in names]
    lists = list(columns.values())
    if not lists or not lists[0]:
        return
    if connection.vendor != "postgresql":
        fixed = [
            field.get_db_prep_save(value, connection)
            for field, value in zip(fields[len(lists) :], constants.values(), strict=True)
        ]
        _insert(model, fields, [[*row, *fixed] for row in zip(*lists, strict=True)])
        return
    table = _quote(model._meta.db_table)
    targets = ", ".join(_quote(f.column) for f in fields)
    arrays = _arrays(fields[: len(lists)])
    aliases = [f"c{i}" for i in range(len(lists))]
    select = ", ".join([*(f"u.{a}" for a in aliases), *(["%s"] * len(constants))])
    sql = (
        f"INSERT INTO {table} ({targets}) SELECT {select} "  # noqa: S608 - names from the model
        f"FROM unnest({arrays}) AS u({', '.join(aliases)}) ON CONFLICT DO NOTHING"
    )
    with _cursor() as cursor:
        cursor.execute(sql, [*constants.values(), *(list(values) for values in lists)])


def _insert(
    model: type[models.Model],
    fields: Sequence[models.Field],
    values: Sequence[Sequence[Any]],
    returning: Sequence[str] = (),
) -> list[tuple[Any, ...]] | None:
    postgresql = connection.vendor == "postgresql"
    if not values:
        return [] if returning and postgresql else None
    table = _quote(model._meta.db_table)
    columns = ", ".join(_quote(f.column) for f in fields)
    marks = ", ".join(["%s"] * len(fields))
    sql = f"INSERT INTO {table} ({columns}) VALUES ({marks}) ON CONFLICT DO NOTHING"  # noqa: S608 - names from the model
    if not (returning and postgresql):
        with _cursor() as cursor:
            cursor.executemany(sql, values)
        return None
    back = ", ".join(
        _quote(model._meta.get_field(name).column) for name in (model._meta.pk.name, *returning)
    )
    # COPY into a temporary table, then one INSERT … SELECT: COPY adapts the rows in C,
    # where executemany spends ~20 µs of Python per row. Dropped at commit (or here).
    stage = _quote(f"stage_{model._meta.db_table}")
    with transaction.atomic(), _cursor() as cursor:
        cursor.execute(
            f"CREATE TEMPORARY TABLE IF NOT EXISTS {stage} ON COMMIT DROP "  # noqa: S608 - names from the model
            f"AS SELECT {columns} FROM {table} WITH NO DATA"
        )
        with cursor.copy(f"COPY {stage} ({columns}) FROM STDIN") as copy:  # noqa: S608 - names from the model
            for row in values:
                copy.write_row(row)
        cursor.execute(
            f"INSERT INTO {table} ({columns}) SELECT {columns} FROM {stage} "  # noqa: S608 - names from the model
            f"ON CONFLICT DO NOTHING RETURNING {back}"
        )
        found = cursor.fetchall()
        cursor.execute(f"DROP TABLE {stage}")
    return found


def values_by_pairs(
    model: type[models.Model],
    keys: tuple[str, str],
    pairs: Collection[tuple[Any, Any]],
    names: Sequence[str],
) -> list[tuple[Any, ...]]:
    """`names` of the rows whose two `keys` fields equal one of `pairs` (a post by platform
    and post id), as `values_list` gives them.

    On PostgreSQL one join against `unnest` of two arrays sent in binary: Django's own
    query quotes each of a batch's thousand ids in Python. Elsewhere one query with an
    IN per distinct first value."""
    if not pairs:
        return []
    if connection.vendor != "postgresql":
        by_first: dict[Any, list[Any]] = {}
        for first, second in pairs:
            by_first.setdefault(first, []).append(second)
        q = Q(pk__in=[])
        for first, seconds in by_first.items():
            q |= Q(**{keys[0]: first, f"{keys[1]}__in": seconds})
        return list(model.objects.filter(q).values_list(*names))
    a, b = (model._meta.get_field(key) for key in keys)
    table = _quote(model._meta.db_table)
    columns = ", ".join(f"t.{_quote(model._meta.get_field(name).column)}" for name in names)
    with _cursor() as cursor:
        cursor.execute(
            f"SELECT {columns} FROM {table} AS t "  # noqa: S608 - names from the model
            f"JOIN unnest({_arrays([a, b])}) "
            f"AS k(a, b) ON t.{_quote(a.column)} = k.a AND t.{_quote(b.column)} = k.b",
            [[first for first, _ in pairs], [second for _, second in pairs]],
        )
        return cursor.fetchall()


def update_fields(
    model: type[models.Model], objs: Sequence[models.Model], names: Sequence[str]
) -> None:
    """UPDATE the named fields of each object by primary key, as `bulk_update` does.

    On PostgreSQL one statement, `UPDATE … FROM unnest` of one array per column: an
    executemany of the touched topics' wide rows cost ~100 µs of Python per row."""
    if not objs:
        return
    fields = [model._meta.get_field(name) for name in names]
    table = _quote(model._meta.db_table)
    pk = _quote(model._meta.pk.column)
    values = [[*row, obj.pk] for obj, row in zip(objs, _values(objs, fields), strict=True)]
    if connection.vendor != "postgresql":
        assignments = ", ".join(f"{_quote(f.column)} = %s" for f in fields)
        with _cursor() as cursor:
            cursor.executemany(
                f"UPDATE {table} SET {assignments} WHERE {pk} = %s",  # noqa: S608 - names from the model
                values,
            )
        return
    aliases = [f"c{i}" for i in range(len(fields))]
    assignments = ", ".join(
        f"{_quote(f.column)} = u.{alias}" for f, alias in zip(fields, aliases, strict=True)
    )
    arrays = _arrays([*fields, model._meta.pk])
    with _cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} AS t SET {assignments} "  # noqa: S608 - names from the model
            f"FROM unnest({arrays}) AS u({', '.join(aliases)}, pk) WHERE t.{pk} = u.pk",
            [list(column) for column in zip(*values, strict=True)],
        )
