"""Admin: escalation chains per office (a unit's 管理员 edits its offices'; audited with their
steps); routes, obligations and gradings read-only (they change only through the services)."""

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from fenghuo.core.admin import AuditedAdminMixin, ReadOnlyAdmin
from fenghuo.core.services import audit_change, snapshot
from fenghuo.escalation.models import (
    EscalationPolicy,
    EscalationStep,
    EventGrading,
    Obligation,
    Route,
)
from fenghuo.org.admin import PolicyScopedAdmin, is_unit_admin


class EscalationStepInline(admin.TabularInline):
    """Steps go with their policy: whoever may edit the policy (a 管理员 of the office or
    above, see PolicyScopedAdmin) may edit its steps; Django's model permissions are unused."""

    model = EscalationStep
    extra = 1

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return is_unit_admin(request)

    has_add_permission = has_change_permission = has_delete_permission = has_view_permission


@admin.register(EscalationPolicy)
class EscalationPolicyAdmin(AuditedAdminMixin, PolicyScopedAdmin):
    unit_path = "office"
    inlines = [EscalationStepInline]
    list_display = ("office", "receipt_minutes", "steps_text", "updated_at")

    @admin.display(description="升级步骤")
    def steps_text(self, policy: EscalationPolicy) -> str:
        return "；".join(str(step) for step in policy.steps.all())

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        # The parent's save is audited by the mixin; the steps are what matters most.
        super().save_related(request, form, formsets, change)
        policy = form.instance
        audit_change(
            request.user,
            "escalation.policy.steps",
            policy,
            after={
                **snapshot(policy),
                "steps": list(policy.steps.values_list("after_minutes", "target")),
            },
        )


@admin.register(Route)
class RouteAdmin(ReadOnlyAdmin):
    list_display = ("report", "office", "state", "release", "urgent", "sent_at", "acknowledged_at")
    list_filter = ("state", "release", "urgent")


@admin.register(Obligation)
class ObligationAdmin(ReadOnlyAdmin):
    list_display = ("kind", "obliged_unit", "office", "event", "due_at", "state", "minutes_late")
    list_filter = ("state", "kind")
    date_hierarchy = "due_at"


@admin.register(EventGrading)
class EventGradingAdmin(ReadOnlyAdmin):
    list_display = ("event", "label", "ruleset", "trigger", "at")
    list_filter = ("grade", "trigger")
