"""The web report form: parses what the browser sends into the values `file_report` takes.

Which fields a report must carry is not decided here: every field is optional to the form,
and `events.services` answers with one Chinese message per missing or wrong field, which
the page shows next to the field. The form only rejects what cannot be read at all
(letters in a number, a date that is no date).
"""

import uuid
from typing import Any

from django import forms

from fenghuo.core.models import Confidentiality
from fenghuo.criteria.models import EventCategory, FactorKind
from fenghuo.events.models import FIGURES, Event, Reliability, Report, ReportKind
from fenghuo.events.services import DATA_FIELDS
from fenghuo.org.models import Unit

CLASSIFIED_NOTICE = "涉密信息严禁在本系统录入、处理；「敏感」仅限单位领导、值班员和领导小组查看。"
DATETIME_FORMAT = "%Y-%m-%dT%H:%M"
TEXT_AREA = {"rows": 3}


def category_choices() -> list[tuple[Any, Any]]:
    """Subcategories grouped under their top category (a top without any is its own)."""
    tops: dict[int, tuple[EventCategory, list[EventCategory]]] = {}
    categories = EventCategory.objects.select_related("parent").order_by("sort_order", "code")
    for category in categories:
        if category.parent_id is None:
            tops.setdefault(category.pk, (category, []))
    for category in categories:
        if category.parent_id is not None and category.parent_id in tops:
            tops[category.parent_id][1].append(category)
    choices: list[tuple[Any, Any]] = [("", "请选择事件类别")]
    for top, children in tops.values():
        options = [(c.pk, c.name) for c in children] or [(top.pk, top.name)]
        choices.append((top.name, options))
    return choices


class ReportForm(forms.Form):
    """The five elements, category, figures, measures, source and marks of one report."""

    idempotency_key = forms.CharField(widget=forms.HiddenInput, required=False, max_length=128)
    unit = forms.ModelChoiceField(
        label="报送单位",
        queryset=Unit.objects.none(),
        empty_label=None,
        error_messages={"required": "请选择报送单位", "invalid_choice": "无权以该单位名义报送"},
    )
    kind = forms.ChoiceField(
        label="报告类型", choices=ReportKind.choices, widget=forms.RadioSelect, required=False
    )
    is_urgent = forms.BooleanField(
        label="紧急（可先报送、后审签）", required=False, help_text="情况紧急、需要立即上报时勾选"
    )
    flags = forms.MultipleChoiceField(
        label="敏感因素（报送人标注）",
        choices=FactorKind.choices,
        widget=forms.CheckboxSelectMultiple,
        required=False,
        help_text="涉及敏感身份、敏感时间地点、极端行为或长时间聚集的，请勾选，定级时会考虑",
    )
    confidentiality = forms.TypedChoiceField(
        label="密级",
        choices=Confidentiality.choices,
        coerce=int,
        initial=Confidentiality.INTERNAL,
        help_text=CLASSIFIED_NOTICE,
    )

    title = forms.CharField(label="标题", max_length=200, required=False)
    category = forms.ModelChoiceField(
        label="事件类别", queryset=EventCategory.objects.all(), required=False
    )
    occurred_at = forms.DateTimeField(
        label="发生时间",
        required=False,
        input_formats=[DATETIME_FORMAT, "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S"],
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format=DATETIME_FORMAT),
    )
    division_code = forms.CharField(
        label="行政区划代码",
        max_length=6,
        required=False,
        help_text="6 位数字，如 330106",
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off"}),
    )
    place = forms.CharField(label="地点", max_length=200, required=False)
    latitude = forms.FloatField(
        label="纬度",
        required=False,
        min_value=-90,
        max_value=90,
        widget=forms.NumberInput(attrs={"step": "any", "inputmode": "decimal"}),
    )
    longitude = forms.FloatField(
        label="经度",
        required=False,
        min_value=-180,
        max_value=180,
        widget=forms.NumberInput(attrs={"step": "any", "inputmode": "decimal"}),
    )
    subjects = forms.CharField(
        label="涉及人员/主体",
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="涉事单位、人员或群体",
    )
    narrative = forms.CharField(
        label="事件经过", required=False, widget=forms.Textarea(attrs={"rows": 5})
    )
    cause = forms.CharField(
        label="原因",
        required=False,
        widget=forms.Textarea(attrs=TEXT_AREA),
        help_text="首报可暂不填写，待查明后续报",
    )

    dead = forms.IntegerField(label=FIGURES["dead"], required=False, min_value=0)
    missing = forms.IntegerField(label=FIGURES["missing"], required=False, min_value=0)
    seriously_injured = forms.IntegerField(
        label=FIGURES["seriously_injured"], required=False, min_value=0
    )
    injured = forms.IntegerField(label=FIGURES["injured"], required=False, min_value=0)
    economic_loss = forms.DecimalField(
        label=FIGURES["economic_loss"],
        required=False,
        min_value=0,
        max_digits=14,
        decimal_places=2,
        widget=forms.NumberInput(attrs={"step": "0.01", "inputmode": "decimal"}),
    )
    affected = forms.IntegerField(label=FIGURES["affected"], required=False, min_value=0)
    evacuated = forms.IntegerField(label=FIGURES["evacuated"], required=False, min_value=0)

    measures = forms.CharField(
        label="已采取措施", required=False, widget=forms.Textarea(attrs=TEXT_AREA)
    )
    next_steps = forms.CharField(
        label="下一步工作", required=False, widget=forms.Textarea(attrs=TEXT_AREA)
    )
    handling_summary = forms.CharField(
        label="处置情况", required=False, widget=forms.Textarea(attrs=TEXT_AREA)
    )
    aftercare = forms.CharField(
        label="善后工作", required=False, widget=forms.Textarea(attrs=TEXT_AREA)
    )
    source = forms.CharField(
        label="信息来源", max_length=200, required=False, help_text="如：现场人员报告、110 接警"
    )
    reliability = forms.ChoiceField(
        label="可靠程度", choices=Reliability.choices, initial=Reliability.PRELIMINARY
    )

    FIGURE_FIELDS = tuple(FIGURES)
    ELEMENT_FIELDS = ("title", "category", "occurred_at", "division_code", "place")

    def __init__(self, *args: Any, units: list[Unit], event: Event | None, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.event = event
        self.fields["unit"].queryset = Unit.objects.filter(pk__in=[u.pk for u in units]).order_by(
            "path"
        )
        self.fields["category"].choices = category_choices()
        if event is None:
            # Without an event this is a first report; 续报 and the rest start from an event.
            self.fields["kind"].choices = [(ReportKind.FIRST, ReportKind.FIRST.label)]
        for name, field in self.fields.items():
            if field.help_text:
                field.widget.attrs.setdefault("aria-describedby", f"help-{name}")

    def clean_kind(self) -> str:
        return self.cleaned_data.get("kind") or ReportKind.FIRST

    def clean_idempotency_key(self) -> str:
        return (self.cleaned_data.get("idempotency_key") or "").strip()

    def report_data(self) -> dict[str, Any]:
        """The report's values for `file_report` (only fields that were read correctly)."""
        cleaned = getattr(self, "cleaned_data", {})
        return {name: cleaned[name] for name in DATA_FIELDS if name in cleaned}

    def add_service_errors(self, errors: dict[str, list[str]]) -> None:
        """Put the service's messages next to their fields; the rest above the form."""
        for name, messages in errors.items():
            for message in messages:
                if name in self.fields and name not in ("idempotency_key",):
                    if message not in self.errors.get(name, []):
                        self.add_error(name, message)
                else:
                    self.add_error(None, message)

    def mark_invalid(self) -> None:
        """aria-invalid on each field in error, pointing at its messages."""
        for name in self.errors:
            if name in self.fields:
                attrs = self.fields[name].widget.attrs
                attrs["aria-invalid"] = "true"
                described = [attrs.get("aria-describedby", ""), f"err-{name}"]
                attrs["aria-describedby"] = " ".join(d for d in described if d)

    def mark_required(self, names: set[str]) -> None:
        """aria-required on the fields the service requires for this kind of report."""
        for name in names & set(self.fields):
            self.fields[name].widget.attrs["aria-required"] = "true"

    @staticmethod
    def new_key() -> str:
        return uuid.uuid4().hex

    def error_labels(self) -> list[tuple[str, str]]:
        """(field name, label) of each field in error, in the form's order."""
        return [
            (name, str(field.label)) for name, field in self.fields.items() if name in self.errors
        ]

    def bound(self, names: tuple[str, ...]) -> list[forms.BoundField]:
        return [self[name] for name in names]

    @property
    def figure_fields(self) -> list[forms.BoundField]:
        return self.bound(self.FIGURE_FIELDS)

    @property
    def element_fields(self) -> list[forms.BoundField]:
        return self.bound(self.ELEMENT_FIELDS)


def initial_from_report(report: Report) -> dict[str, Any]:
    """A saved draft's values as the form's initial data."""
    initial: dict[str, Any] = {name: getattr(report, name) for name in DATA_FIELDS}
    initial["category"] = report.category_id
    initial["unit"] = report.unit_id
    initial["kind"] = report.kind
    return initial
