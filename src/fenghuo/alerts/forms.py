"""The warning editor's form. Every field is optional here: `alerts.services` names each
missing or wrong field in Chinese and the page shows it next to the field, as the report
form does."""

import json
import uuid
from typing import Any

from django import forms

from fenghuo.alerts.models import Warning, WarningLevel
from fenghuo.core.models import Confidentiality
from fenghuo.criteria.models import EventCategory
from fenghuo.events.models import Event
from fenghuo.intake.forms import DATETIME_FORMAT, category_choices
from fenghuo.org.models import Unit

INPUT_FORMATS = [DATETIME_FORMAT, "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S"]
TEXT_AREA = {"rows": 3}


def _when(label: str) -> forms.DateTimeField:
    return forms.DateTimeField(
        label=label,
        required=False,
        input_formats=INPUT_FORMATS,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format=DATETIME_FORMAT),
        error_messages={"invalid": "时间格式不正确"},
    )


class WarningForm(forms.Form):
    idempotency_key = forms.CharField(widget=forms.HiddenInput, required=False, max_length=128)
    issuing_unit = forms.ModelChoiceField(
        label="发布单位",
        queryset=Unit.objects.none(),
        empty_label=None,
        required=False,
        error_messages={"invalid_choice": "无权以该单位名义拟制预警"},
    )
    category = forms.TypedChoiceField(label="预警类别", coerce=int, required=False, choices=())
    event_name = forms.CharField(
        label="预警事件", max_length=50, required=False, help_text="如：暴雨、山洪、地质灾害"
    )
    level = forms.TypedChoiceField(
        label="预警级别",
        coerce=int,
        required=False,
        choices=[("", "请选择")] + WarningLevel.choices,
    )
    title = forms.CharField(
        label="标题", max_length=200, required=False, help_text="不填时自动生成"
    )
    area_codes = forms.CharField(
        label="影响区域（行政区划代码）",
        required=False,
        help_text="6 位行政区划代码，多个用逗号或空格分隔；其下级区划及单位均在范围内",
    )
    area_desc = forms.CharField(
        label="影响区域名称", max_length=500, required=False, help_text="不填时按区划代码生成"
    )
    geometry = forms.CharField(widget=forms.HiddenInput, required=False)
    starts_at = _when("开始时间")
    ends_at = _when("预计结束时间")
    impact = forms.CharField(label="预计影响", required=False, widget=forms.Textarea(TEXT_AREA))
    cautions = forms.CharField(label="警示事项", required=False, widget=forms.Textarea(TEXT_AREA))
    measures = forms.CharField(
        label="应采取的措施", required=False, widget=forms.Textarea(TEXT_AREA)
    )
    event = forms.TypedChoiceField(label="关联事件", coerce=int, required=False, choices=())
    confidentiality = forms.TypedChoiceField(
        label="公开范围",
        coerce=int,
        choices=[
            (Confidentiality.PUBLIC, "公开（发布到公众页面和订阅）"),
            (Confidentiality.INTERNAL, "内部（只通知有关单位）"),
        ],
        initial=Confidentiality.PUBLIC,
        required=False,
    )

    def __init__(self, *args: Any, units: list[Unit], events: list[Event], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["issuing_unit"].queryset = Unit.objects.filter(pk__in=[u.pk for u in units])
        self.fields["category"].choices = [("", "请选择预警类别"), *category_choices()[1:]]
        self.fields["event"].choices = [("", "不关联")] + [
            (e.pk, f"{e.title}（{e.occurred_at:%m-%d}）") for e in events
        ]

    def mark_invalid(self) -> None:
        """aria-invalid on each field in error, pointing at its messages."""
        for name in self.errors:
            if name in self.fields:
                attrs = self.fields[name].widget.attrs
                attrs["aria-invalid"] = "true"
                attrs["aria-describedby"] = f"err-{name}"

    @staticmethod
    def new_key() -> str:
        return uuid.uuid4().hex

    def warning_data(self) -> dict[str, Any]:
        """The cleaned values as `services.create_warning` / `update_warning` take them."""
        data = dict(self.cleaned_data)
        data.pop("idempotency_key", None)
        category = data.pop("category", None)
        data["category"] = EventCategory.objects.filter(pk=category).first() if category else None
        data["event"] = data.get("event") or None
        data["level"] = data.get("level") or None
        geometry = data.get("geometry") or ""
        try:
            data["geometry"] = json.loads(geometry) if geometry else []
        except ValueError:
            data["geometry"] = geometry  # the service names the problem
        return data


def initial_from(warning: Warning) -> dict[str, Any]:
    return {
        "issuing_unit": warning.issuing_unit_id,
        "category": warning.category_id,
        "event_name": warning.event_name,
        "level": warning.level,
        "title": warning.title,
        "area_codes": " ".join(warning.area_codes),
        "area_desc": warning.area_desc,
        "geometry": json.dumps(warning.geometry, ensure_ascii=False) if warning.geometry else "",
        "starts_at": warning.starts_at,
        "ends_at": warning.ends_at,
        "impact": warning.impact,
        "cautions": warning.cautions,
        "measures": warning.measures,
        "event": warning.event_id,
        "confidentiality": warning.confidentiality,
    }
