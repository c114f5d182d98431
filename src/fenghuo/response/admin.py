"""Admin: the response levels' configuration (who leads, starts, approves the end; audited),
and responses and tasks read-only (they change only through the services)."""

from typing import Any

from django import forms
from django.contrib import admin
from django.http import HttpRequest

from fenghuo.core.admin import AuditedAdminMixin, ReadOnlyAdmin
from fenghuo.org.admin import is_unit_admin
from fenghuo.org.models import Role
from fenghuo.response.models import LevelPlan, Response, Task


class LevelPlanForm(forms.ModelForm):
    lead_roles = forms.MultipleChoiceField(
        label="牵头角色",
        choices=Role.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="响应办公室中担任这些角色的人员牵头",
    )
    start_roles = forms.MultipleChoiceField(
        label="可启动、调整的角色",
        choices=Role.choices,
        widget=forms.CheckboxSelectMultiple,
        help_text="在事件报送单位所属办公室或其上级担任这些角色的人员可启动本级响应、调整为本级",
    )
    end_roles = forms.MultipleChoiceField(
        label="可批准结束的角色",
        choices=Role.choices,
        widget=forms.CheckboxSelectMultiple,
        help_text="在响应办公室或其上级担任这些角色的人员可批准结束本级响应",
    )

    class Meta:
        model = LevelPlan
        fields = ("lead_roles", "department_head", "start_roles", "end_roles", "urgent", "duties")

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        if not cleaned.get("lead_roles") and not cleaned.get("department_head"):
            self.add_error("lead_roles", "请选择牵头角色，或勾选由涉事主管部门负责人牵头")
        return cleaned


@admin.register(LevelPlan)
class LevelPlanAdmin(AuditedAdminMixin, admin.ModelAdmin):
    """Four fixed rows (Ⅰ–Ⅳ, from the data migration): unit administrators read them,
    superusers change them; none is added or deleted, so every level always has a plan."""

    form = LevelPlanForm
    list_display = ("__str__", "leads", "department_head", "starts", "ends", "urgent")

    @admin.display(description="牵头角色")
    def leads(self, plan: LevelPlan) -> str:
        return _labels(plan.lead_roles)

    @admin.display(description="可启动、调整")
    def starts(self, plan: LevelPlan) -> str:
        return _labels(plan.start_roles)

    @admin.display(description="可批准结束")
    def ends(self, plan: LevelPlan) -> str:
        return _labels(plan.end_roles)

    def has_module_permission(self, request: HttpRequest) -> bool:
        return is_unit_admin(request)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return is_unit_admin(request)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return request.user.is_active and request.user.is_superuser

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


def _labels(roles: list[str]) -> str:
    return "、".join(Role(r).label for r in roles if r in Role.values) or "—"


@admin.register(Response)
class ResponseAdmin(ReadOnlyAdmin):
    list_display = ("event", "level", "office", "state", "started_at", "ended_at")
    list_filter = ("state", "level")
    date_hierarchy = "started_at"


@admin.register(Task)
class TaskAdmin(ReadOnlyAdmin):
    list_display = ("title", "unit", "response", "due_at", "state")
    list_filter = ("state",)
    date_hierarchy = "due_at"
