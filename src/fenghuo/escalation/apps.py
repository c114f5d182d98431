from django.apps import AppConfig


class EscalationConfig(AppConfig):
    name = "fenghuo.escalation"
    label = "escalation"
    verbose_name = "报送路由与时限"

    def ready(self) -> None:
        from fenghuo.escalation.receivers import connect

        connect()
