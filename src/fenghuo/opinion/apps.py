from django.apps import AppConfig


class OpinionConfig(AppConfig):
    name = "fenghuo.opinion"
    label = "opinion"
    verbose_name = "舆情"

    def ready(self) -> None:
        from fenghuo.opinion.matching import connect

        connect()
