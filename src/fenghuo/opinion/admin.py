from django.contrib import admin

from fenghuo.core.admin import AuditedAdminMixin
from fenghuo.opinion.models import Feed, Post, Scheme, WarningRule, WebhookConnector


@admin.register(Scheme)
class SchemeAdmin(AuditedAdminMixin, admin.ModelAdmin):
    list_display = ["name", "owner_unit", "owner", "is_active", "updated_at"]
    list_filter = ["is_active"]
    search_fields = ["name", "expression"]
    readonly_fields = ["expression", "created_at", "updated_at"]

    def has_add_permission(self, request: object) -> bool:
        return False  # schemes are written through the API, which checks the expression


@admin.register(WarningRule)
class WarningRuleAdmin(AuditedAdminMixin, admin.ModelAdmin):
    """Per-scheme thresholds of opinion warnings: data, edited here (see rules.py)."""

    list_display = [
        "scheme",
        "colour",
        "min_posts",
        "min_growth",
        "min_negative_share",
        "min_author_followers",
        "is_active",
    ]
    list_filter = ["colour", "is_active"]
    search_fields = ["scheme__name", "sensitive_words"]


@admin.register(Feed)
class FeedAdmin(AuditedAdminMixin, admin.ModelAdmin):
    list_display = ["name", "url", "interval_seconds", "is_active", "last_polled_at", "last_error"]
    readonly_fields = ["next_poll_at", "last_polled_at", "last_error", "etag", "modified"]


@admin.register(WebhookConnector)
class WebhookConnectorAdmin(AuditedAdminMixin, admin.ModelAdmin):
    list_display = ["name", "slug", "platform", "is_active"]


@admin.register(Post)
class PostAdmin(admin.ModelAdmin):
    list_display = ["platform", "post_id", "author", "published_at", "dup_group"]
    list_filter = ["platform", "is_drill"]
    search_fields = ["post_id", "author", "normalized_text"]

    def has_add_permission(self, request: object) -> bool:
        return False

    def has_change_permission(self, request: object, obj: object = None) -> bool:
        return False
