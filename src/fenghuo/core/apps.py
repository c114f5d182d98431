from typing import Any

from django.apps import AppConfig
from django.db.models.signals import post_migrate


def _create_cache_tables(sender: AppConfig, using: str = "default", **kwargs: Any) -> None:
    """The rate limits count in the database (settings CACHES["ratelimit"]: a CounterCache,
    or a DatabaseCache if configured); their tables are not models, so `migrate` would not
    make them. Both skip existing tables."""
    from django.conf import settings
    from django.core.cache import caches
    from django.core.management import call_command

    from fenghuo.core.counters import CounterCache

    call_command("createcachetable", database=using, verbosity=0)
    for alias in settings.CACHES:
        cache = caches[alias]
        if isinstance(cache, CounterCache):
            cache.create_table(using)


class CoreConfig(AppConfig):
    name = "fenghuo.core"
    label = "core"
    verbose_name = "核心"

    def ready(self) -> None:
        post_migrate.connect(_create_cache_tables, sender=self)
