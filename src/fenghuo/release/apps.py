from django.apps import AppConfig


class ReleaseConfig(AppConfig):
    name = "fenghuo.release"
    label = "release"
    verbose_name = "信息发布"
