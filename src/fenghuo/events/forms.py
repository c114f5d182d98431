"""Forms of the event pages: the event list's filters."""

from typing import Any

from django import forms
from django.core.validators import RegexValidator

from fenghuo.criteria.models import EventCategory
from fenghuo.events.models import EventStatus


def category_filter_choices() -> list[tuple[Any, Any]]:
    """Each top category (with everything under it) followed by its subcategories."""
    categories = list(EventCategory.objects.order_by("sort_order", "code"))
    choices: list[tuple[Any, Any]] = [("", "全部类别")]
    for top in (c for c in categories if c.parent_id is None):
        children = [(c.code, c.name) for c in categories if c.parent_id == top.pk]
        choices.append((top.name, [(top.code, f"全部{top.name}"), *children]))
    return choices


class EventFilterForm(forms.Form):
    q = forms.CharField(label="关键词", required=False, max_length=100)
    status = forms.ChoiceField(
        label="状态", required=False, choices=[("", "全部状态"), *EventStatus.choices]
    )
    category = forms.ChoiceField(label="类别", required=False)
    division = forms.CharField(
        label="行政区划代码",
        required=False,
        max_length=6,
        validators=[RegexValidator(r"^\d{1,6}$", "行政区划代码应为 1–6 位数字")],
        help_text="如 330100 表示杭州市及下辖区县",
        widget=forms.TextInput(attrs={"inputmode": "numeric", "placeholder": "如 330100"}),
    )
    since = forms.DateField(
        label="发生时间自", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    until = forms.DateField(
        label="至", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    drill = forms.BooleanField(
        label="只看演练事件", required=False, help_text="演练事件不出现在实际事件列表中"
    )

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.fields["category"].choices = category_filter_choices()

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        since, until = cleaned.get("since"), cleaned.get("until")
        if since and until and since > until:
            self.add_error("until", "结束日期不能早于开始日期")
        return cleaned
