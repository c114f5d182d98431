"""Forms of the response board. Every field is optional to the form: what is required, and
its Chinese message, is the service's (as on the report form), so the page and the API give
the same errors. The forms only parse (a level, a unit, a time) and carry the errors back
next to their fields."""

from typing import Any

from django import forms

from fenghuo.org.models import Unit
from fenghuo.response.models import Level, TaskState

DATETIME_FORMATS = ["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S"]


class BoardForm(forms.Form):
    def add_service_errors(self, errors: dict[str, list[str]]) -> None:
        """The service's messages next to their fields; the rest above the form."""
        for name, messages in errors.items():
            for message in messages:
                self.add_error(name if name in self.fields else None, message)

    def mark_invalid(self) -> None:
        """aria-invalid on each field in error, pointing at its messages."""
        for name in self.errors:
            if name in self.fields:
                attrs = self.fields[name].widget.attrs
                attrs["aria-invalid"] = "true"
                attrs["aria-describedby"] = f"{self[name].auto_id}-err"


def _level_field(label: str) -> forms.TypedChoiceField:
    return forms.TypedChoiceField(
        label=label,
        choices=[("", "请选择"), *[(v, f"{lbl}响应") for v, lbl in Level.choices]],
        coerce=int,
        empty_value=None,
        required=False,
    )


def _text(label: str, rows: int = 2, **kwargs: Any) -> forms.CharField:
    return forms.CharField(
        label=label, required=False, widget=forms.Textarea(attrs={"rows": rows}), **kwargs
    )


class StartForm(BoardForm):
    level = _level_field("响应级别")
    office = forms.ModelChoiceField(
        label="响应办公室",
        queryset=Unit.objects.none(),
        required=False,
        empty_label=None,
        error_messages={"invalid_choice": "请选择可以启动应急响应的办公室"},
    )
    reason = _text("启动理由", help_text="如：事件已达重大等级，现场仍有人员被困")

    def __init__(self, *args: Any, offices: list[Unit], **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.fields["office"].queryset = Unit.objects.filter(pk__in=[o.pk for o in offices])
        if len(offices) < 2:
            self.fields["office"].widget = forms.HiddenInput()


class LevelForm(BoardForm):
    level = _level_field("调整为")
    reason = _text("调整理由")


class TaskForm(BoardForm):
    title = forms.CharField(label="任务", required=False, max_length=200)
    unit = forms.ModelChoiceField(
        label="责任单位",
        queryset=Unit.objects.none(),
        required=False,
        error_messages={"invalid_choice": "请选择本办公室所辖的单位"},
    )
    due_at = forms.DateTimeField(
        label="完成时限",
        required=False,
        input_formats=DATETIME_FORMATS,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        error_messages={"invalid": "请填写有效的时间，如 2026-11-23 18:00"},
    )
    description = _text("要求")

    def __init__(self, *args: Any, units: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.fields["unit"].queryset = units


class StateForm(BoardForm):
    state = forms.ChoiceField(
        label="状态",
        required=False,
        choices=[
            ("", "请选择"),
            (TaskState.IN_PROGRESS, TaskState.IN_PROGRESS.label),
            (TaskState.DONE, TaskState.DONE.label),
        ],
    )
    note = _text("说明")


class NoteForm(BoardForm):
    text = _text("进展情况")


class EndRequestForm(BoardForm):
    assessment = _text("评估意见", rows=3, help_text="处置成效、影响是否已基本消除、善后安排")


class DecisionForm(BoardForm):
    decision = forms.ChoiceField(
        label="审批",
        required=False,
        choices=[("approve", "批准结束"), ("reject", "不批准")],
        widget=forms.RadioSelect,
    )
    note = _text("审批意见")

    def clean_decision(self) -> str:
        if not self.cleaned_data["decision"]:
            raise forms.ValidationError("请选择批准或不批准")
        return self.cleaned_data["decision"]


class SummaryForm(BoardForm):
    summary = _text("处置总结", rows=4, help_text="经过、处置措施、成效与教训，显示在事件页面")
