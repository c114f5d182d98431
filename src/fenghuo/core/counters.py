"""A Django cache backend for counters, one SQL statement per operation: the rate limits'.

django-ratelimit counts with `cache.add(key, 0, window)` then `cache.incr(key)`. Over
Django's DatabaseCache that was five SELECTs (one of them a `COUNT(*)` of the whole table,
to decide on culling, twice) and an UPDATE in two transactions per counted request
(bench/intake.py --profile), and the increment was read-then-write, so parallel requests of
one client could slip past the limit. Here:

    add   INSERT … ON CONFLICT DO UPDATE … WHERE the old row expired   (1 statement)
    incr  UPDATE … SET value = value + n … RETURNING value             (1 statement, atomic)
    get   SELECT …

Values are integers (a counter, not a general cache), expiry times Unix seconds. Expired
rows are deleted every `CULL_EVERY` adds. The table (LOCATION) is created after `migrate`
(`core.apps`); PostgreSQL and SQLite (≥ 3.35, for RETURNING) take the same SQL.

    CACHES = {"ratelimit": {"BACKEND": "fenghuo.core.counters.CounterCache",
                            "LOCATION": "fenghuo_ratecount"}}
"""

import time
from typing import Any

from django.core.cache.backends.base import DEFAULT_TIMEOUT, BaseCache
from django.db import connections, router

CULL_EVERY = 1000
FOREVER = float("inf")


class CounterCache(BaseCache):
    def __init__(self, table: str, params: dict[str, Any]) -> None:
        super().__init__(params)
        self._table = table
        self._adds = 0

    # -------------------------------------------------------------------------- plumbing

    def _execute(self, sql: str, params: list[Any]) -> Any:
        connection = connections[router.db_for_write(None) or "default"]
        table = connection.ops.quote_name(self._table)
        with connection.cursor() as cursor:
            cursor.execute(sql.replace("{table}", table), params)
            return cursor.fetchall() if cursor.description is not None else cursor.rowcount

    def _expires(self, timeout: Any) -> float:
        at = self.get_backend_timeout(timeout)
        return FOREVER if at is None else float(at)

    def create_table(self, using: str = "default") -> None:
        """The counters' table, when it does not exist yet."""
        connection = connections[using]
        table = connection.ops.quote_name(self._table)
        with connection.cursor() as cursor:
            cursor.execute(
                f"CREATE TABLE IF NOT EXISTS {table} ("
                "cache_key varchar(255) NOT NULL PRIMARY KEY, "
                "value bigint NOT NULL, expires double precision NOT NULL)"
            )

    # --------------------------------------------------------------------- the cache API

    def add(
        self, key: str, value: int, timeout: Any = DEFAULT_TIMEOUT, version: int | None = None
    ) -> bool:
        key = self.make_and_validate_key(key, version=version)
        now = time.time()
        self._adds += 1
        if self._adds % CULL_EVERY == 0:
            self._execute("DELETE FROM {table} WHERE expires < %s", [now])
        rows = self._execute(
            "INSERT INTO {table} (cache_key, value, expires) VALUES (%s, %s, %s) "
            "ON CONFLICT (cache_key) DO UPDATE SET value = excluded.value, "
            "expires = excluded.expires WHERE {table}.expires < %s RETURNING value",
            [key, int(value), self._expires(timeout), now],
        )
        return bool(rows)

    def incr(self, key: str, delta: int = 1, version: int | None = None) -> int:
        key = self.make_and_validate_key(key, version=version)
        rows = self._execute(
            "UPDATE {table} SET value = value + %s WHERE cache_key = %s AND expires >= %s "
            "RETURNING value",
            [int(delta), key, time.time()],
        )
        if not rows:
            raise ValueError(f"Key '{key}' not found")
        return int(rows[0][0])

    def get(self, key: str, default: Any = None, version: int | None = None) -> Any:
        key = self.make_and_validate_key(key, version=version)
        rows = self._execute(
            "SELECT value FROM {table} WHERE cache_key = %s AND expires >= %s",
            [key, time.time()],
        )
        return int(rows[0][0]) if rows else default

    def set(
        self, key: str, value: int, timeout: Any = DEFAULT_TIMEOUT, version: int | None = None
    ) -> None:
        key = self.make_and_validate_key(key, version=version)
        self._execute(
            "INSERT INTO {table} (cache_key, value, expires) VALUES (%s, %s, %s) "
            "ON CONFLICT (cache_key) DO UPDATE SET value = excluded.value, "
            "expires = excluded.expires",
            [key, int(value), self._expires(timeout)],
        )

    def touch(self, key: str, timeout: Any = DEFAULT_TIMEOUT, version: int | None = None) -> bool:
        key = self.make_and_validate_key(key, version=version)
        return bool(
            self._execute(
                "UPDATE {table} SET expires = %s WHERE cache_key = %s AND expires >= %s",
                [self._expires(timeout), key, time.time()],
            )
        )

    def delete(self, key: str, version: int | None = None) -> bool:
        key = self.make_and_validate_key(key, version=version)
        return bool(self._execute("DELETE FROM {table} WHERE cache_key = %s", [key]))

    def has_key(self, key: str, version: int | None = None) -> bool:
        return self.get(key, version=version) is not None

    def clear(self) -> None:
        self._execute("DELETE FROM {table}", [])
