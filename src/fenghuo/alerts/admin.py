"""Admin: who may issue and approve each colour (nationwide rules: superusers change them,
unit administrators read them); each unit's sender code (its 管理员); warnings and CAP
imports read-only (they change only through the services). Every change is audited."""

from typing import Any

from django import forms
from django.contrib import admin
from django.http import HttpRequest

from fenghuo.alerts.models import CapImport, IssuingRule, SenderCode, Warning
from fenghuo.core.admin import AuditedAdminMixin, ReadOnlyAdmin
from fenghuo.org.admin import PolicyScopedAdmin, is_unit_admin
from fenghuo.org.models import AdminLevel, Role
from fenghuo.org.policy import LEADING_GROUP


class IssuingRuleForm(forms.ModelForm):
    issuer_levels = forms.MultipleChoiceField(
        label="可发布的单位层级",
        choices=AdminLevel.choices,
        widget=forms.CheckboxSelectMultiple,
        required=False,
    )
    approver_roles = forms.MultipleChoiceField(
        label="审批角色（发布单位中）",
        choices=[(r.value, r.label) for r in Role if r in LEADING_GROUP],
        widget=forms.CheckboxSelectMultiple,
        required=False,
        help_text="可批准、发布、解除该级预警的领导小组角色",
    )

    class Meta:
        model = IssuingRule
        fields = ["level", "issuer_levels", "approver_roles", "note"]


@admin.register(IssuingRule)
class IssuingRuleAdmin(AuditedAdminMixin, admin.ModelAdmin):
    form = IssuingRuleForm
    list_display = ("__str__", "levels_text", "roles_text", "note")

    @admin.display(description="可发布的单位层级")
    def levels_text(self, rule: IssuingRule) -> str:
        labels = dict(AdminLevel.choices)
        return "、".join(labels.get(v, v) for v in rule.issuer_levels)

    @admin.display(description="审批角色")
    def roles_text(self, rule: IssuingRule) -> str:
        labels = dict(Role.choices)
        return "、".join(labels.get(v, v) for v in rule.approver_roles)

    def has_module_permission(self, request: HttpRequest) -> bool:
        return is_unit_admin(request)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return is_unit_admin(request)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return request.user.is_superuser

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return request.user.is_superuser

    has_delete_permission = has_change_permission


class SenderCodeForm(forms.ModelForm):
    class Meta:
        model = SenderCode
        fields = ["unit", "code"]

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        unit, code = data.get("unit"), data.get("code")
        if unit and code and not code.startswith(unit.division_code):
            self.add_error("code", f"前 6 位须为该单位的行政区划代码 {unit.division_code}")
        return data


@admin.register(SenderCode)
class SenderCodeAdmin(AuditedAdminMixin, PolicyScopedAdmin):
    form = SenderCodeForm
    list_display = ("unit", "code")
    search_fields = ("unit__name", "code")


@admin.register(Warning)
class WarningAdmin(ReadOnlyAdmin):
    list_display = ("title", "level", "state", "issuing_unit", "version", "issued_at")
    list_filter = ("state", "level", "is_drill")
    search_fields = ("title", "identifier")

    def has_module_permission(self, request: HttpRequest) -> bool:
        return request.user.is_superuser

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return request.user.is_superuser


@admin.register(CapImport)
class CapImportAdmin(ReadOnlyAdmin):
    list_display = ("received_at", "sender", "identifier", "msg_type", "warning", "report", "note")
    search_fields = ("sender", "identifier")

    def has_module_permission(self, request: HttpRequest) -> bool:
        return request.user.is_superuser

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return request.user.is_superuser
