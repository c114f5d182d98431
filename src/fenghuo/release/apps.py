from django.apps import AppConfig


class ReleaseConfig(AppConfig):
    name = "fenghuo.release"
    label = "release"
    verbose_name = "信息发布"

    def ready(self) -> None:
        from fenghuo.release.receivers import connect

        connect()
