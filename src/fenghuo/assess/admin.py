"""Admin: letter templates are edited here (audited); everything else is read-only, since
it changes only through the services, which check who may act and write the audit trail."""

from django.contrib import admin

from fenghuo.assess.models import (
    Adoption,
    AreaDuty,
    Bulletin,
    Case,
    Finding,
    Letter,
    LetterTemplate,
)
from fenghuo.core.admin import AuditedAdminMixin, ReadOnlyAdmin


@admin.register(LetterTemplate)
class LetterTemplateAdmin(AuditedAdminMixin, admin.ModelAdmin):
    list_display = ("name", "title", "answer_days", "is_default")


@admin.register(AreaDuty)
class AreaDutyAdmin(ReadOnlyAdmin):
    list_display = ("unit", "event", "due_at", "state", "met_at", "minutes_late")
    list_filter = ("state",)


@admin.register(Case)
class CaseAdmin(ReadOnlyAdmin):
    list_display = ("unit", "kind", "state", "event", "at", "decided_by")
    list_filter = ("kind", "state")
    search_fields = ("summary", "unit__name")


@admin.register(Adoption)
class AdoptionAdmin(ReadOnlyAdmin):
    list_display = ("report", "office", "adopted_by", "adopted_at")


@admin.register(Letter)
class LetterAdmin(ReadOnlyAdmin):
    list_display = ("number", "unit", "state", "issued_at", "due_at", "answered_at")
    list_filter = ("state",)


@admin.register(Bulletin)
class BulletinAdmin(ReadOnlyAdmin):
    list_display = ("title", "office", "year", "sequence", "created_at", "circulated_at")


@admin.register(Finding)
class FindingAdmin(ReadOnlyAdmin):
    list_display = ("title", "kind", "state", "event_count", "first_at", "last_at")
    list_filter = ("kind", "state")
