from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "fenghuo.core"
    label = "core"
    verbose_name = "核心"
