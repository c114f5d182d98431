from django.apps import AppConfig


class NotifyConfig(AppConfig):
    name = "fenghuo.notify"
    label = "notify"
    verbose_name = "通知"
