"""Forms that turn typed input into CaseFacts: the report form's live panel (same field
names as the report form) and the admin's 试算 page."""

import re
from typing import Any

from django import forms
from django.core.exceptions import ValidationError

from fenghuo.core import clock
from fenghuo.criteria import services
from fenghuo.criteria.engine import CaseFacts
from fenghuo.criteria.models import FIGURES, EventCategory, FactorKind
from fenghuo.org.models import Unit

DATETIME_FORMATS = ["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S"]
TEXT_FIELDS = ("title", "place", "subjects", "narrative")
DIVISION_CODE = re.compile(r"[0-9]{6}")


def category_choices() -> list[tuple[Any, Any]]:
    """Subcategories grouped under their top category (a top without any is its own)."""
    categories = list(EventCategory.objects.order_by("sort_order", "code"))
    children: dict[int, list[EventCategory]] = {}
    for c in categories:
        if c.parent_id is not None:
            children.setdefault(c.parent_id, []).append(c)
    choices: list[tuple[Any, Any]] = [("", "请选择事件类别")]
    for top in (c for c in categories if c.parent_id is None):
        options = [(top.pk, f"{top.name}（全类）")] + [
            (c.pk, c.name) for c in children.get(top.pk, [])
        ]
        choices.append((top.name, options))
    return choices


def _figure_field(name: str) -> forms.Field:
    label = f"{FIGURES[name][0]}（{FIGURES[name][1]}）"
    if name == "economic_loss":
        return forms.DecimalField(
            label=label, required=False, min_value=0, max_digits=14, decimal_places=2
        )
    return forms.IntegerField(label=label, required=False, min_value=0)


class CaseForm(forms.Form):
    """The fields every grading input shares; `facts()` after `is_valid()`."""

    category = forms.ModelChoiceField(
        label="事件类别", queryset=EventCategory.objects.all(), required=False
    )
    occurred_at = forms.DateTimeField(
        label="发生时间",
        required=False,
        input_formats=DATETIME_FORMATS,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format=DATETIME_FORMATS[0]),
    )
    division_code = forms.CharField(label="行政区划代码", max_length=6, required=False)
    unit = forms.ModelChoiceField(
        label="报送单位", queryset=Unit.objects.filter(is_active=True), required=False
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["category"].choices = category_choices()
        self.fields["unit"].queryset = Unit.objects.filter(is_active=True).order_by("path")
        self.fields.update({name: _figure_field(name) for name in FIGURES})

    @property
    def figure_fields(self) -> list[forms.BoundField]:
        return [self[name] for name in FIGURES]

    @property
    def case_fields(self) -> list[forms.BoundField]:
        return [self[name] for name in self.fields if name not in FIGURES]

    def error_lines(self) -> list[tuple[str, str, str]]:
        """(field name, label, message) for each error, to show beside the result."""
        lines = []
        for name, errors in self.errors.items():
            label = str(self.fields[name].label) if name in self.fields else ""
            lines += [(name, label, message) for message in errors]
        return lines

    def case_text(self) -> str:
        return ""

    def case_flags(self) -> frozenset[str]:
        return frozenset()

    def facts(self, **overrides: Any) -> CaseFacts | None:
        """The case, or None with the problems added to the form's errors."""
        data = self.cleaned_data
        try:
            return services.case_facts(
                category=overrides.get("category", data.get("category")),
                occurred_at=overrides.get("occurred_at", data.get("occurred_at")),
                division_code=overrides.get("division_code", data.get("division_code")),
                unit=data.get("unit"),
                figures={name: data.get(name) for name in FIGURES},
                text=self.case_text(),
                flags=self.case_flags(),
                is_drill=bool(data.get("is_drill")),
            )
        except ValidationError as exc:
            for name, messages in exc.message_dict.items():
                for message in messages:
                    self.add_error(name if name in self.fields else None, message)
            return None


class PreviewForm(CaseForm):
    """What the report form posts as the user types. A 续报 form may leave the elements
    blank (they come from the event): the template sends the event's as `event_*`."""

    title = forms.CharField(label="标题", required=False)
    place = forms.CharField(label="地点", required=False)
    subjects = forms.CharField(label="涉及人员/主体", required=False)
    narrative = forms.CharField(label="事件经过", required=False)
    event_category = forms.ModelChoiceField(
        label="事件类别", queryset=EventCategory.objects.all(), required=False
    )
    event_occurred_at = forms.DateTimeField(
        label="发生时间", required=False, input_formats=DATETIME_FORMATS
    )
    event_division_code = forms.CharField(label="行政区划代码", required=False)
    event_text = forms.CharField(label="事件信息", required=False)
    flags = forms.MultipleChoiceField(
        label="敏感因素（报送人标注）", choices=FactorKind.choices, required=False
    )

    def case_flags(self) -> frozenset[str]:
        return frozenset(self.cleaned_data.get("flags") or ())

    def case_text(self) -> str:
        data = self.cleaned_data
        parts = [data.get(name) or "" for name in TEXT_FIELDS] + [data.get("event_text") or ""]
        return "\n".join(p for p in parts if p)

    def facts(self, **overrides: Any) -> CaseFacts | None:
        data = self.cleaned_data
        self.occurred_assumed = not (data.get("occurred_at") or data.get("event_occurred_at"))
        # A code still being typed is left out rather than reported: it only matters for
        # sensitive places, and the report form itself checks it on submission.
        codes = [data.get("division_code"), data.get("event_division_code")]
        return super().facts(
            category=data.get("category") or data.get("event_category"),
            occurred_at=data.get("occurred_at") or data.get("event_occurred_at") or clock.now(),
            division_code=next((c for c in codes if c and DIVISION_CODE.fullmatch(c)), ""),
        )

    @property
    def has_category(self) -> bool:
        return bool(self.cleaned_data.get("category") or self.cleaned_data.get("event_category"))


class TryForm(CaseForm):
    """The admin's 试算 page."""

    text = forms.CharField(
        label="标题、地点、涉及人员、经过",
        required=False,
        widget=forms.Textarea(attrs={"rows": 4, "cols": 60}),
        help_text="用于匹配敏感身份、极端行为、敏感地点等关键词",
    )
    flags = forms.MultipleChoiceField(
        label="报送人标注",
        choices=FactorKind.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    is_drill = forms.BooleanField(label="演练", required=False)
    at = forms.DateTimeField(
        label="按此时间选用标准版本",
        required=False,
        input_formats=DATETIME_FORMATS,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format=DATETIME_FORMATS[0]),
        help_text="留空：按发生时间选用当时施行的版本",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["category"].required = True
        self.fields["category"].error_messages["required"] = "请选择事件类别"
        self.fields["occurred_at"].required = True
        self.fields["occurred_at"].error_messages["required"] = "请填写发生时间"

    def case_text(self) -> str:
        return self.cleaned_data.get("text") or ""

    def case_flags(self) -> frozenset[str]:
        return frozenset(self.cleaned_data.get("flags") or ())
