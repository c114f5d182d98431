"""Admin: releases and their versions, read-only (they change only through the services,
which check who may approve and write the audit trail and the timeline)."""

from django.contrib import admin

from fenghuo.core.admin import ReadOnlyAdmin
from fenghuo.release.models import Release, ReleaseVersion


@admin.register(Release)
class ReleaseAdmin(ReadOnlyAdmin):
    list_display = (
        "event",
        "unit",
        "is_drill",
        "current",
        "first_published_at",
        "last_published_at",
    )
    list_filter = ("is_drill",)


@admin.register(ReleaseVersion)
class ReleaseVersionAdmin(ReadOnlyAdmin):
    list_display = (
        "title",
        "release",
        "number",
        "edition",
        "state",
        "submitted_at",
        "published_at",
    )
    list_filter = ("state",)
    search_fields = ("title",)
