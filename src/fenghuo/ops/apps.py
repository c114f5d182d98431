from django.apps import AppConfig


class OpsConfig(AppConfig):
    """Operations: backup and restore, health and readiness, Prometheus metrics, request
    logging. Sits at the top of the app stack beside `desk`: it reads every app's state."""

    name = "fenghuo.ops"
    label = "ops"
    verbose_name = "运维"

    def ready(self) -> None:
        from fenghuo.ops import logs

        logs.install()
