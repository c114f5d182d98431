"""Admin for units, people, roles, the roster, experts and API tokens (all audited)."""

from typing import Any

from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin
from django.http import HttpRequest
from treebeard.admin import TreeAdmin
from treebeard.forms import MoveNodeForm, movenodeform_factory

from fenghuo.core.admin import AuditedAdminMixin
from fenghuo.org import services
from fenghuo.org.models import (
    ApiToken,
    DutyShift,
    Expert,
    Membership,
    Person,
    Specialty,
    Unit,
    UnitKind,
)
from fenghuo.org.policy import principal_for


@admin.register(UnitKind)
class UnitKindAdmin(AuditedAdminMixin, admin.ModelAdmin):
    list_display = ("name", "code", "sort_order")


class UnitMoveNodeForm(MoveNodeForm):
    """Treebeard's add/move form with its own fields labelled in Chinese.

    Treebeard ships no zh-hans catalogue, so "Position", "Relative to", "Child of" and
    "-- root --" would show in English in an otherwise Chinese admin.
    """

    # The unit tree is sorted (node_order_by), so only these two positions apply.
    POSITION_CHOICES = (
        ("sorted-child", "下级：挂在参照单位之下"),
        ("sorted-sibling", "同级：与参照单位并列"),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        ref_node = self.fields["treebeard_ref_node"]
        ref_node.label = "参照单位"
        ref_node.empty_label = "（无，作为顶级单位）"
        ref_node.help_text = "通常选择上级单位；留空则作为顶级单位。"
        position = self.fields["treebeard_position"]
        position.label = "层级关系"
        position.choices = self.POSITION_CHOICES


@admin.register(Unit)
class UnitAdmin(AuditedAdminMixin, TreeAdmin):
    form = movenodeform_factory(Unit, form=UnitMoveNodeForm)
    fieldsets = (
        (None, {"fields": ("name", "short_name", "level", "kind", "division_code")}),
        ("在组织树中的位置", {"fields": ("treebeard_ref_node", "treebeard_position")}),
        (
            "值班与报送",
            {"fields": ("is_receiving_office", "is_direct_point", "phone", "email", "is_active")},
        ),
    )
    list_display = ("name", "level", "kind", "division_code", "direct_point", "receiving_office")
    list_filter = ("level", "kind", "is_direct_point", "is_receiving_office")
    search_fields = ("name", "short_name", "division_code")

    # Short headers keep the tree's columns on screen beside the sidebar and filters.
    @admin.display(description="直报点", boolean=True, ordering="is_direct_point")
    def direct_point(self, obj: Unit) -> bool:
        return obj.is_direct_point

    @admin.display(description="值班室", boolean=True, ordering="is_receiving_office")
    def receiving_office(self, obj: Unit) -> bool:
        return obj.is_receiving_office


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 1
    autocomplete_fields = ("unit",)


@admin.register(Person)
class PersonAdmin(AuditedAdminMixin, UserAdmin):
    list_display = ("username", "full_name", "unit", "title", "mobile", "is_active")
    list_filter = ("is_active", "is_staff", "memberships__role")
    search_fields = ("username", "full_name", "mobile", "unit__name")
    autocomplete_fields = ("unit",)
    inlines = [MembershipInline]
    fieldsets = (
        (None, {"fields": ("username", "password")}),
        ("基本信息", {"fields": ("full_name", "unit", "title", "email")}),
        (
            "联系方式",
            {
                "fields": (
                    "mobile",
                    "office_phone",
                    "wecom_id",
                    "dingtalk_id",
                    "feishu_id",
                    "contact_mark",
                )
            },
        ),
        ("权限", {"fields": ("is_active", "is_staff", "is_superuser", "groups")}),
        ("时间", {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = (
        (
            None,
            {
                "classes": ("wide",),
                "fields": ("username", "full_name", "unit", "password1", "password2"),
            },
        ),
    )


@admin.register(DutyShift)
class DutyShiftAdmin(AuditedAdminMixin, admin.ModelAdmin):
    list_display = ("office", "starts_at", "ends_at", "primary", "backup", "leader")
    list_filter = ("office",)
    date_hierarchy = "starts_at"
    autocomplete_fields = ("office", "primary", "backup", "leader")

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        services.shift_validate(obj)
        super().save_model(request, obj, form, change)


@admin.register(Specialty)
class SpecialtyAdmin(AuditedAdminMixin, admin.ModelAdmin):
    search_fields = ("name",)


@admin.register(Expert)
class ExpertAdmin(AuditedAdminMixin, admin.ModelAdmin):
    list_display = ("person", "affiliation", "is_active")
    filter_horizontal = ("specialties",)
    autocomplete_fields = ("person",)


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    """Tokens are issued and revoked through the services, so the plaintext is shown once
    and only its digest is stored."""

    list_display = ("unit", "name", "prefix", "created_at", "last_used_at", "revoked_at")
    list_filter = ("unit",)
    fields = ("unit", "name")
    autocomplete_fields = ("unit",)
    actions = ["revoke"]

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return obj is None and super().has_change_permission(request, obj)

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        token, plaintext = services.token_issue(
            principal_for(request.user), unit=obj.unit, name=obj.name
        )
        obj.pk = token.pk
        self.message_user(
            request, f"令牌已生成，只显示这一次，请妥善保存：{plaintext}", messages.WARNING
        )

    @admin.action(description="吊销所选令牌")
    def revoke(self, request: HttpRequest, queryset: Any) -> None:
        principal = principal_for(request.user)
        for token in queryset.select_related("unit"):
            services.token_revoke(principal, token)
        self.message_user(request, "所选令牌已吊销")
