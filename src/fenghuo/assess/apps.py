from django.apps import AppConfig


class AssessConfig(AppConfig):
    name = "fenghuo.assess"
    label = "assess"
    verbose_name = "考核与串并分析"

    def ready(self) -> None:
        from fenghuo.assess.receivers import connect

        connect()
