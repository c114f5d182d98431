from django.apps import AppConfig


class AlertsConfig(AppConfig):
    name = "fenghuo.alerts"
    label = "alerts"
    verbose_name = "预警"

    def ready(self) -> None:
        from fenghuo.alerts.receivers import connect

        connect()
