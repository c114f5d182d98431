from django.apps import AppConfig


class CriteriaConfig(AppConfig):
    name = "fenghuo.criteria"
    label = "criteria"
    verbose_name = "报送标准"

    def ready(self) -> None:
        from fenghuo.criteria.engine import connect_invalidation

        connect_invalidation()
