"""Admin for the reporting criteria: rule sets with their rules, factors, sensitive dates and
places; rules with thresholds, levels and deadlines; 复制为新版本; the 试算 page.

Who: superusers, and a unit's 管理员 (staff) for rule sets whose jurisdiction is a unit they
administer; nationwide rule sets only superusers change. Every save, including each inline
row, goes into the audit chain.
"""

from typing import Any

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db import models, transaction
from django.db.models import QuerySet
from django.forms import Textarea
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html

from fenghuo.core.admin import AuditedAdminMixin
from fenghuo.core.services import audit_change, audit_record, snapshot
from fenghuo.criteria import services
from fenghuo.criteria.engine import LEVEL_LABELS, duration_text
from fenghuo.criteria.forms import TryForm
from fenghuo.criteria.models import (
    EventCategory,
    GradeResult,
    Rule,
    RuleSet,
    SensitiveDate,
    SensitivePlace,
    SensitivityFactor,
    Target,
    Threshold,
)
from fenghuo.org.admin import is_unit_admin
from fenghuo.org.policy import principal_for
from fenghuo.org.selectors import may_administer, units_administered


def may_change_ruleset(request: HttpRequest, ruleset: RuleSet | None) -> bool:
    if request.user.is_superuser:
        return True
    if not is_unit_admin(request):
        return False
    if ruleset is None:
        return True
    return ruleset.jurisdiction is not None and may_administer(
        principal_for(request.user), ruleset.jurisdiction
    )


class CriteriaPermissions:
    """Viewing for every unit administrator; changes as `may_change_ruleset` says.
    `ruleset_of` finds the rule set a row (or an inline's parent) belongs to."""

    @staticmethod
    def ruleset_of(obj: Any) -> RuleSet | None:
        if obj is None or isinstance(obj, RuleSet):
            return obj
        return getattr(obj, "ruleset", None)

    def has_module_permission(self, request: HttpRequest) -> bool:
        return is_unit_admin(request)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return is_unit_admin(request)

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return may_change_ruleset(request, self.ruleset_of(obj))

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return may_change_ruleset(request, self.ruleset_of(obj))

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return may_change_ruleset(request, self.ruleset_of(obj))


class AuditedInlinesMixin(AuditedAdminMixin):
    """AuditedAdminMixin audits the edited object; this adds each inline row's change."""

    def save_formset(self, request: HttpRequest, form: Any, formset: Any, change: bool) -> None:
        with transaction.atomic():
            # Read before the save: rows as stored, and deleted rows while they still exist.
            befores = {
                f.instance.pk: snapshot(type(f.instance)._default_manager.get(pk=f.instance.pk))
                for f in formset.initial_forms
                if f.instance.pk and f.has_changed()
            }
            deleted = [(f.instance, snapshot(f.instance)) for f in formset.deleted_forms]
            super().save_formset(request, form, formset, change)  # type: ignore[misc]
            for obj in formset.new_objects:
                obj.refresh_from_db()  # as stored: Decimal places, defaults
                audit_change(request.user, f"{_label(obj)}.create", obj, after=snapshot(obj))
            for obj, _ in formset.changed_objects:
                obj.refresh_from_db()
                audit_change(
                    request.user,
                    f"{_label(obj)}.update",
                    obj,
                    before=befores.get(obj.pk),
                    after=snapshot(obj),
                )
            for obj, before in deleted:
                audit_record(
                    actor=request.user,
                    action=f"{_label(obj)}.delete",
                    object_type=_label(obj),
                    object_id=before["id"],
                    before=before,
                )


def _label(obj: Any) -> str:
    return f"{obj._meta.app_label}.{obj._meta.model_name}"


class RuleSetInline(CriteriaPermissions, admin.TabularInline):
    extra = 0


class RuleInline(RuleSetInline):
    model = Rule
    fields = ("category", "base_grade", "note")
    show_change_link = True
    verbose_name_plural = "定级规则（数量标准、报送层级与时限在规则页面中设置）"


class FactorInline(RuleSetInline):
    model = SensitivityFactor
    fields = ("kind", "effect", "words", "min_affected", "use_holidays", "is_active")
    formfield_overrides = {models.TextField: {"widget": Textarea(attrs={"rows": 3, "cols": 60})}}


class DateInline(RuleSetInline):
    model = SensitiveDate
    fields = ("name", "starts_on", "ends_on", "every_year")


class PlaceInline(RuleSetInline):
    model = SensitivePlace
    fields = ("name", "division_code")


@admin.register(RuleSet)
class RuleSetAdmin(CriteriaPermissions, AuditedInlinesMixin, admin.ModelAdmin):
    list_display = ("__str__", "code", "scope", "effective_from", "is_active", "rule_count")
    list_filter = ("is_active", "code")
    search_fields = ("name", "code", "jurisdiction__name")
    fieldsets = (
        (None, {"fields": ("name", "code", "version", "jurisdiction")}),
        ("施行", {"fields": ("effective_from", "is_active", "copied_from")}),
        ("依据与说明", {"fields": ("basis",)}),
    )
    readonly_fields = ("copied_from",)
    inlines = [RuleInline, FactorInline, DateInline, PlaceInline]
    actions = ["copy_as_new_version"]
    change_list_template = "admin/criteria/ruleset/change_list.html"

    @admin.display(description="适用范围", ordering="jurisdiction__path")
    def scope(self, obj: RuleSet) -> str:
        return obj.jurisdiction.name if obj.jurisdiction_id else "全国"

    @admin.display(description="规则数")
    def rule_count(self, obj: RuleSet) -> int:
        return obj.rules.count()

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).select_related("jurisdiction")

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any):
        if db_field.name == "jurisdiction" and not request.user.is_superuser:
            kwargs["queryset"] = units_administered(principal_for(request.user))
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def save_model(self, request: HttpRequest, obj: RuleSet, form: Any, change: bool) -> None:
        super().save_model(request, obj, form, change)
        # Checked after the save, inside its transaction: a refusal rolls the save back.
        if not may_change_ruleset(request, obj):
            raise PermissionDenied("全国通用的标准只有系统管理员可以修改")

    @admin.action(description="复制为新版本")
    def copy_as_new_version(self, request: HttpRequest, queryset: QuerySet) -> None:
        for ruleset in queryset:
            if not may_change_ruleset(request, ruleset):
                messages.error(request, f"无权复制{ruleset}")
                continue
            copy = services.copy_as_new_version(request.user, ruleset)
            url = reverse("admin:criteria_ruleset_change", args=[copy.pk])
            messages.success(
                request,
                format_html(
                    "已复制为<a href='{}'>{}</a>（未启用）：修改后设置施行时间并启用。"
                    "原版本保持不变，已定级的事件仍按原版本解释。",
                    url,
                    copy,
                ),
            )

    def get_urls(self) -> list:
        custom = [
            path(
                "try/",
                self.admin_site.admin_view(self.try_view),
                name="criteria_ruleset_try",
            )
        ]
        return custom + super().get_urls()

    def try_view(self, request: HttpRequest) -> HttpResponse:
        """试算: grade a made-up case with the criteria as they stand."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        form = TryForm(request.POST or None)
        grading = None
        if request.method == "POST" and form.is_valid():
            facts = form.facts()
            if facts is not None:
                grading = services.evaluate(facts, at=form.cleaned_data.get("at"))
        targets = [
            {
                "level": LEVEL_LABELS.get(t.level, t.level),
                "phone": duration_text(t.phone_minutes) if t.phone_minutes else "不要求",
                "written": duration_text(t.written_minutes),
            }
            for t in (grading.targets if grading else ())
        ]
        context = {
            **self.admin_site.each_context(request),
            "title": "试算：按报送标准测算等级",
            "opts": self.model._meta,
            "form": form,
            "grading": grading,
            "targets": targets,
        }
        status = 422 if form.errors else 200
        return TemplateResponse(request, "admin/criteria/ruleset/try.html", context, status=status)


class RuleChildInline(admin.TabularInline):
    extra = 0

    def _ruleset(self, obj: Rule | None) -> RuleSet | None:
        return obj.ruleset if obj is not None else None

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return is_unit_admin(request)

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return may_change_ruleset(request, self._ruleset(obj))

    has_change_permission = has_delete_permission = has_add_permission


class ThresholdInline(RuleChildInline):
    model = Threshold
    verbose_name_plural = "数量标准（任一项达到即可；取达到的最高等级；“以上”含本数）"


class TargetInline(RuleChildInline):
    model = Target
    verbose_name_plural = "报送层级与时限（自获知事件时起算；逐级列出，未列出的层级不报）"


class GradeResultInline(RuleChildInline):
    model = GradeResult


@admin.register(Rule)
class RuleAdmin(CriteriaPermissions, AuditedInlinesMixin, admin.ModelAdmin):
    list_display = ("__str__", "category", "base_grade", "note")
    list_filter = ("ruleset",)
    list_select_related = ("ruleset", "category")
    fields = ("ruleset", "category", "base_grade", "note")
    inlines = [ThresholdInline, TargetInline, GradeResultInline]

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any):
        if db_field.name == "ruleset" and not request.user.is_superuser:
            kwargs["queryset"] = RuleSet.objects.filter(
                jurisdiction__in=units_administered(principal_for(request.user))
            )
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def save_model(self, request: HttpRequest, obj: Rule, form: Any, change: bool) -> None:
        super().save_model(request, obj, form, change)
        if not may_change_ruleset(request, obj.ruleset):
            raise PermissionDenied("无权修改该标准的规则")


@admin.register(EventCategory)
class EventCategoryAdmin(AuditedAdminMixin, admin.ModelAdmin):
    list_display = ("__str__", "code", "responsible_kind", "sort_order")
    list_select_related = ("parent", "responsible_kind")
    search_fields = ("name", "code")

    def has_module_permission(self, request: HttpRequest) -> bool:
        return request.user.is_superuser
