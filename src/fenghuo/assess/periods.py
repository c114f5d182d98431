"""Evaluation periods: every two months by default (1–2月, 3–4月 …), any range of dates on
demand. Dates are Beijing dates (Asia/Shanghai): a period runs from 00:00 of its first day
to 00:00 of the day after its last, so an event at 23:30 on 28 February falls in 1–2月."""

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Self

from django.core.exceptions import ValidationError
from django.utils import timezone

from fenghuo.core import clock

MAX_DAYS = 3 * 366  # a range longer than this is refused: nobody evaluates a decade at once


@dataclass(frozen=True)
class Period:
    start: date
    end: date  # inclusive

    @classmethod
    def bimonth(cls, day: date) -> Self:
        """The two months containing `day`: 1–2, 3–4, 5–6, 7–8, 9–10, 11–12."""
        first = day.month - (day.month - 1) % 2
        start = date(day.year, first, 1)
        after = date(day.year + 1, 1, 1) if first == 11 else date(day.year, first + 2, 1)
        return cls(start, after - timedelta(days=1))

    @classmethod
    def current(cls) -> Self:
        return cls.bimonth(timezone.localtime(clock.now()).date())

    @property
    def is_bimonth(self) -> bool:
        return self == Period.bimonth(self.start)

    @property
    def key(self) -> str:
        """2026-11 for 11–12月 2026; start~end for any other range (URL parameters)."""
        if self.is_bimonth:
            return f"{self.start:%Y-%m}"
        return f"{self.start:%Y-%m-%d}~{self.end:%Y-%m-%d}"

    @property
    def label(self) -> str:
        """2026年11—12月, or 2026年1月5日—3月1日 for another range."""
        if self.is_bimonth:
            return f"{self.start.year}年{self.start.month}—{self.end.month}月"
        end = f"{self.end.month}月{self.end.day}日"
        if self.end.year != self.start.year:
            end = f"{self.end.year}年{end}"
        return f"{self.start.year}年{self.start.month}月{self.start.day}日—{end}"

    def bounds(self) -> tuple[datetime, datetime]:
        """[start, end) as aware datetimes in Beijing time."""
        tz = timezone.get_default_timezone()
        return (
            datetime.combine(self.start, time.min, tzinfo=tz),
            datetime.combine(self.end + timedelta(days=1), time.min, tzinfo=tz),
        )

    def previous(self) -> "Period":
        return Period.bimonth(self.start - timedelta(days=1))

    def recent(self, count: int) -> list["Period"]:
        """This bi-month and the `count - 1` before it, oldest first."""
        periods = [Period.bimonth(self.start)]
        while len(periods) < count:
            periods.insert(0, periods[0].previous())
        return periods


def _date(text: str, field: str, errors: dict[str, list[str]]) -> date | None:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        errors.setdefault(field, []).append("日期格式应为 YYYY-MM-DD")
        return None


def parse(period: str = "", start: str = "", end: str = "") -> Period:
    """`period` "2026-11" (the bi-month starting or containing that month) or
    "2026-01-05~2026-03-01"; or `start` and `end` dates. Nothing given: the current
    bi-month. Bad input raises one ValidationError naming the field, in Chinese."""
    errors: dict[str, list[str]] = {}
    period, start, end = (period or "").strip(), (start or "").strip(), (end or "").strip()
    if period and "~" in period:
        start, _, end = period.partition("~")
        period = ""
    if period:
        try:
            year, month = (int(part) for part in period.split("-"))
            if not 1 <= month <= 12 or not 2000 <= year <= 2100:
                raise ValueError
        except ValueError:
            raise ValidationError(
                {"period": ["考核期格式应为 YYYY-MM（如 2026-11 表示11—12月）"]}
            ) from None
        return Period.bimonth(date(year, month, 1))
    if not start and not end:
        return Period.current()
    first = _date(start, "start", errors) if start else None
    last = _date(end, "end", errors) if end else None
    if not start:
        errors.setdefault("start", []).append("请填写起始日期")
    if not end:
        errors.setdefault("end", []).append("请填写截止日期")
    if first and last:
        if last < first:
            errors.setdefault("end", []).append("截止日期不能早于起始日期")
        elif (last - first).days > MAX_DAYS:
            errors.setdefault("end", []).append("考核期最长三年")
    if errors:
        raise ValidationError(errors)
    return Period(first, last)
