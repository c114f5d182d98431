"""Admin for units, people, roles, the roster, experts and API tokens (all audited)."""

from typing import Any

from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest
from treebeard.admin import TreeAdmin
from treebeard.forms import MoveNodeForm, movenodeform_factory

from fenghuo.core.admin import AuditedAdminMixin
from fenghuo.org import services
from fenghuo.org.models import (
    ApiToken,
    Division,
    DutyShift,
    Expert,
    Membership,
    Person,
    Role,
    Specialty,
    Unit,
    UnitKind,
)
from fenghuo.org.policy import administered_q, principal_for
from fenghuo.org.selectors import may_administer, units_administered


def is_unit_admin(request: HttpRequest) -> bool:
    """A superuser, or a staff member holding the 管理员 role somewhere."""
    user = request.user
    if not (user.is_active and user.is_staff):
        return False
    return user.is_superuser or principal_for(user).has_role(Role.ADMIN)


class PolicyScopedAdmin(admin.ModelAdmin):
    """The admin under the access policy: a unit's 管理员 (with is_staff) sees and changes
    only rows of the units it administers; superusers see everything.

    `unit_path` is the lookup from the row to its unit ("" when the row is a unit).
    """

    unit_path = "unit"
    unit_fields = ("unit", "office")  # foreign keys whose choices are limited

    def _unit_of(self, obj: Any) -> Unit | None:
        if not self.unit_path:
            return obj
        for part in self.unit_path.split("__"):
            obj = getattr(obj, part, None)
        return obj

    def _may(self, request: HttpRequest, obj: Any) -> bool:
        if obj is None or request.user.is_superuser:
            return True
        unit = self._unit_of(obj)
        return unit is not None and may_administer(principal_for(request.user), unit)

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        queryset = super().get_queryset(request)
        if request.user.is_superuser:
            return queryset
        return queryset.filter(administered_q(principal_for(request.user), owner=self.unit_path))

    # The 管理员 role grants these powers; Django's per-model permissions are not used.
    def has_module_permission(self, request: HttpRequest) -> bool:
        return is_unit_admin(request)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return is_unit_admin(request) and self._may(request, obj)

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        return is_unit_admin(request)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return is_unit_admin(request) and self._may(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return is_unit_admin(request) and self._may(request, obj)

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any):
        if db_field.name in self.unit_fields and not request.user.is_superuser:
            kwargs["queryset"] = units_administered(principal_for(request.user))
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        super().save_model(request, obj, form, change)
        # Checked after the save (inside the audited transaction) because a unit's place in
        # the tree is only known once treebeard has placed it; a refusal rolls it back.
        if not self._may(request, obj):
            raise PermissionDenied("无权管理该单位")


@admin.register(UnitKind)
class UnitKindAdmin(AuditedAdminMixin, admin.ModelAdmin):
    def has_module_permission(self, request: HttpRequest) -> bool:
        return request.user.is_superuser

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
class UnitAdmin(AuditedAdminMixin, PolicyScopedAdmin, TreeAdmin):
    form = movenodeform_factory(Unit, form=UnitMoveNodeForm)
    unit_path = ""

    def get_form(self, request: HttpRequest, obj: Any = None, **kwargs: Any):
        form = super().get_form(request, obj, **kwargs)
        if request.user.is_superuser:
            return form
        allowed = units_administered(principal_for(request.user)).values("pk")

        class ScopedUnitForm(form):
            """A unit administrator places units only below units it administers."""

            def __init__(self, *args: Any, **kwargs: Any) -> None:
                super().__init__(*args, **kwargs)
                ref_node = self.fields["treebeard_ref_node"]
                ref_node.queryset = ref_node.queryset.filter(pk__in=allowed)
                ref_node.required = True
                self.fields["treebeard_position"].choices = self.POSITION_CHOICES[:1]

        return ScopedUnitForm

    def is_filtered(self, request: HttpRequest) -> bool:
        # A unit administrator's units are a subtree whose top is not a root; the
        # drill-down view starts at the roots, so show them as a flat list instead.
        return not request.user.is_superuser or super().is_filtered(request)

    def move_node(self, request: HttpRequest):
        if not request.user.is_superuser:
            raise PermissionDenied("只有系统管理员可以拖动调整组织树")
        return super().move_node(request)

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

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return is_unit_admin(request)

    has_add_permission = has_change_permission = has_delete_permission = has_view_permission

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any):
        if db_field.name == "unit" and not request.user.is_superuser:
            kwargs["queryset"] = units_administered(principal_for(request.user))
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


@admin.register(Person)
class PersonAdmin(AuditedAdminMixin, PolicyScopedAdmin, UserAdmin):
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

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> tuple:
        if request.user.is_superuser:
            return ()
        # Only a superuser hands out admin-site powers.
        return ("is_staff", "is_superuser", "groups", "last_login", "date_joined")

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
class DutyShiftAdmin(AuditedAdminMixin, PolicyScopedAdmin):
    unit_path = "office"

    list_display = ("office", "starts_at", "ends_at", "primary", "backup", "leader")
    list_filter = ("office",)
    date_hierarchy = "starts_at"
    autocomplete_fields = ("office", "primary", "backup", "leader")

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        services.shift_validate(obj)
        super().save_model(request, obj, form, change)


@admin.register(Division)
class DivisionAdmin(AuditedAdminMixin, admin.ModelAdmin):
    """The gazetteer, kept by superusers (audited like every admin change)."""

    list_display = ("code", "name", "latitude", "longitude")
    search_fields = ("code", "name")

    def has_module_permission(self, request: HttpRequest) -> bool:
        return request.user.is_superuser


@admin.register(Specialty)
class SpecialtyAdmin(AuditedAdminMixin, admin.ModelAdmin):
    def has_module_permission(self, request: HttpRequest) -> bool:
        return request.user.is_superuser

    search_fields = ("name",)


@admin.register(Expert)
class ExpertAdmin(AuditedAdminMixin, PolicyScopedAdmin):
    unit_path = "person__unit"

    list_display = ("person", "affiliation", "is_active")
    filter_horizontal = ("specialties",)
    autocomplete_fields = ("person",)


@admin.register(ApiToken)
class ApiTokenAdmin(PolicyScopedAdmin):
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
