from django.apps import AppConfig


class DeskConfig(AppConfig):
    """The duty desk (值班台) and the navigation shell: the top of the app stack, it only
    reads other apps' selectors."""

    name = "fenghuo.desk"
    label = "desk"
    verbose_name = "值班台"
