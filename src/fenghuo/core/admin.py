"""Admin: the audit trail is read-only; other apps' admins record their changes in it."""

from typing import Any

from django.contrib import admin
from django.db import transaction
from django.http import HttpRequest

from fenghuo.core.models import AuditEntry, WorkerHeartbeat
from fenghuo.core.services import audit_record, snapshot


class AuditedAdminMixin:
    """Records every admin save and delete in the audit chain, in the same transaction."""

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        label = f"{obj._meta.app_label}.{obj._meta.model_name}"
        with transaction.atomic():
            before = None
            if change:
                old = type(obj)._default_manager.filter(pk=obj.pk).first()
                before = snapshot(old) if old is not None else None
            super().save_model(request, obj, form, change)  # type: ignore[misc]
            obj.refresh_from_db()
            audit_record(
                actor=request.user,
                action=f"{label}.{'update' if change else 'create'}",
                object_type=label,
                object_id=obj.pk,
                before=before,
                after=snapshot(obj),
            )

    def delete_model(self, request: HttpRequest, obj: Any) -> None:
        label = f"{obj._meta.app_label}.{obj._meta.model_name}"
        with transaction.atomic():
            before, pk = snapshot(obj), obj.pk
            super().delete_model(request, obj)  # type: ignore[misc]
            audit_record(
                actor=request.user,
                action=f"{label}.delete",
                object_type=label,
                object_id=pk,
                before=before,
            )

    def delete_queryset(self, request: HttpRequest, queryset: Any) -> None:
        for obj in queryset:
            self.delete_model(request, obj)


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(AuditEntry)
class AuditEntryAdmin(ReadOnlyAdmin):
    list_display = ("seq", "at", "actor_name", "action", "object_type", "object_id")
    list_filter = ("object_type",)
    search_fields = ("action", "actor_name", "object_id")


@admin.register(WorkerHeartbeat)
class WorkerHeartbeatAdmin(ReadOnlyAdmin):
    list_display = ("worker_id", "hostname", "pid", "started_at", "last_seen", "stopped_at")
