from django.apps import AppConfig


class IntakeConfig(AppConfig):
    name = "fenghuo.intake"
    label = "intake"
    verbose_name = "报送渠道"
