"""The release editor's form: reads what the browser sends into the values the services
take. Every part is optional here; `services.submit` names the missing ones in Chinese."""

import uuid
from typing import Any

from django import forms

from fenghuo.org.models import Unit
from fenghuo.release.services import CONTENT_FIELDS

DATETIME_FORMAT = "%Y-%m-%dT%H:%M"


def _area(rows: int, hint: str = "") -> forms.Textarea:
    attrs: dict[str, Any] = {"rows": rows}
    if hint:
        attrs["placeholder"] = hint
    return forms.Textarea(attrs=attrs)


class ReleaseForm(forms.Form):
    idempotency_key = forms.CharField(widget=forms.HiddenInput, required=False, max_length=128)
    unit = forms.ModelChoiceField(
        label="发布单位",
        queryset=Unit.objects.none(),
        empty_label=None,
        required=False,
        error_messages={"invalid_choice": "无权以该单位名义起草信息发布"},
    )
    is_drill = forms.BooleanField(
        label="演练（不对外公开）",
        required=False,
        help_text="演练发布只在系统内流转，从不出现在公开页面",
    )
    title = forms.CharField(label="标题", max_length=200, required=False)
    occurred_at = forms.DateTimeField(
        label="发生时间",
        required=False,
        input_formats=[DATETIME_FORMAT, "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S"],
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format=DATETIME_FORMAT),
    )
    place = forms.CharField(label="发生地点", max_length=200, required=False)
    overview = forms.CharField(
        label="事件概况",
        required=False,
        widget=_area(5),
        help_text="发生了什么；已带出事件的最新情况",
    )
    cause = forms.CharField(
        label="原因",
        required=False,
        widget=_area(2),
        help_text="只写已查明的原因；尚未查明的留空，发布时写「事件原因正在调查中」",
    )
    impact = forms.CharField(
        label="影响范围",
        required=False,
        widget=_area(3),
        help_text="对人员、财产、环境等的影响范围和程度",
    )
    measures = forms.CharField(
        label="应对措施",
        required=False,
        widget=_area(4),
        help_text="政府和社会各方采取的应对和救援措施",
    )
    advice = forms.CharField(
        label="防范建议",
        required=False,
        widget=_area(3, "如：请周边群众关闭门窗、减少外出，不信谣、不传谣……"),
        help_text="给公众的提示和建议",
    )
    contact = forms.CharField(
        label="联系方式", max_length=200, required=False, help_text="发布单位及咨询电话"
    )

    def __init__(self, *args: Any, units: Any = None, creating: bool = False, **kwargs: Any):
        super().__init__(*args, **kwargs)
        if creating:
            self.fields["unit"].queryset = units
            self.fields["unit"].required = True
            self.fields["unit"].error_messages["required"] = "请选择发布单位"
        else:
            del self.fields["unit"]
            del self.fields["is_drill"]

    @staticmethod
    def new_key() -> str:
        return uuid.uuid4().hex

    def content(self) -> dict[str, Any]:
        """The parts, as the services take them."""
        return {name: self.cleaned_data.get(name) for name in CONTENT_FIELDS}

    def add_service_errors(self, errors: dict[str, list[str]]) -> None:
        for name, messages in errors.items():
            for message in messages:
                self.add_error(name if name in self.fields else None, message)

    @property
    def error_labels(self) -> list[tuple[str, str]]:
        return [(name, self.fields[name].label) for name in self.errors if name in self.fields]

    def mark_invalid(self) -> None:
        for name in self.errors:
            if name in self.fields:
                widget = self.fields[name].widget
                widget.attrs["aria-invalid"] = "true"
                widget.attrs["aria-describedby"] = f"err-{name}"
