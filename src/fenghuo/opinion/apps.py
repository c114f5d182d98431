from django.apps import AppConfig


class OpinionConfig(AppConfig):
    name = "fenghuo.opinion"
    label = "opinion"
    verbose_name = "舆情"

    def ready(self) -> None:
        from fenghuo.events import signals
        from fenghuo.opinion import services
        from fenghuo.opinion.matching import connect

        connect()
        signals.report_submitted.connect(services.on_report_submitted, dispatch_uid="opinion")
        signals.events_merged.connect(services.on_events_merged, dispatch_uid="opinion")
