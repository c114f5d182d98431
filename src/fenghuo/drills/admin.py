"""Admin: drills, read-only (runs change only through the services, which check who may
direct them and write the audit trail; scenarios are uploaded through the library page)."""

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from fenghuo.core.admin import ReadOnlyAdmin
from fenghuo.drills.models import DrillRun, Improvement, Injection, Participant, Scenario


class ParticipantInline(admin.TabularInline):
    model = Participant
    extra = 0
    can_delete = False
    fields = ("key", "unit", "simulated")
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class InjectionInline(admin.TabularInline):
    model = Injection
    extra = 0
    can_delete = False
    fields = ("position", "key", "kind", "at_minutes", "due_at", "done_at", "failed", "note")
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(DrillRun)
class DrillRunAdmin(ReadOnlyAdmin):
    list_display = ("title", "state", "unit", "speed", "started_at", "ended_at", "tag")
    list_filter = ("state",)
    search_fields = ("title", "tag")
    inlines = (ParticipantInline, InjectionInline)


@admin.register(Scenario)
class ScenarioAdmin(ReadOnlyAdmin):
    list_display = ("title", "slug", "owner_unit", "uploaded_by", "uploaded_at")
    search_fields = ("title", "slug")


@admin.register(Improvement)
class ImprovementAdmin(ReadOnlyAdmin):
    list_display = ("title", "unit", "run", "due_at", "state", "done_at")
    list_filter = ("state",)
    search_fields = ("title",)
