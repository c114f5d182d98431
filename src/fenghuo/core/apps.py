from typing import Any

from django.apps import AppConfig
from django.db.models.signals import post_migrate


def _create_cache_tables(sender: AppConfig, using: str = "default", **kwargs: Any) -> None:
    """The rate limits count in a database cache (settings CACHES["ratelimit"]); its table is
    not a model, so `migrate` would not make it. createcachetable skips existing tables."""
    from django.core.management import call_command

    call_command("createcachetable", database=using, verbosity=0)


class CoreConfig(AppConfig):
    name = "fenghuo.core"
    label = "core"
    verbose_name = "核心"

    def ready(self) -> None:
        post_migrate.connect(_create_cache_tables, sender=self)
