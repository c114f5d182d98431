from django.apps import AppConfig


class DrillsConfig(AppConfig):
    name = "fenghuo.drills"
    label = "drills"
    verbose_name = "演练"

    def ready(self) -> None:
        from fenghuo.core import sandbox
        from fenghuo.drills.selectors import speed_of

        # Lower apps shrink what they owe inside an accelerated drill by its speed; they
        # ask core, and core asks this (drills sits above them all).
        sandbox.set_speed_resolver(speed_of)
