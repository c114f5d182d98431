from django.apps import AppConfig


class ResponseConfig(AppConfig):
    name = "fenghuo.response"
    label = "response"
    verbose_name = "应急响应"

    def ready(self) -> None:
        from fenghuo.response.receivers import connect

        connect()
