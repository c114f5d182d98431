from django.apps import AppConfig


class EventsConfig(AppConfig):
    name = "fenghuo.events"
    label = "events"
    verbose_name = "事件"
