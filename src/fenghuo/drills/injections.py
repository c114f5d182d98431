"""Making one injection happen, through the other apps' own services.

Each kind acts as the scenario says, as a principal the drill plays (演练导调): a report
is filed by the simulated unit's 信息员 through `events.services.file_report`; a call is
a phone draft the office's duty officer must take down (confirm); posts go through
`opinion.services.ingest`; an external CAP alert (status Exercise) through
`alerts.services.import_cap`; a notice is an in-app message through the outbox. Every row
they create carries the run's tag, so it is drill data (core/sandbox.py).

`perform` runs inside the transaction that marks the injection done (services.advance),
so an injection happens exactly once: a step that runs twice finds it done, and a step
killed half-way rolls both back and is taken again.
"""

from datetime import datetime, timedelta
from typing import Any

from django.urls import reverse
from lxml import etree
from lxml.builder import ElementMaker

from fenghuo.alerts import cap as cap_format
from fenghuo.alerts import services as alert_services
from fenghuo.core import clock
from fenghuo.criteria.models import EventCategory
from fenghuo.drills import drilltime
from fenghuo.drills.models import DrillRun, Injection, Participant
from fenghuo.drills.scenario import COLOURS, REPORT_KINDS, Scenario
from fenghuo.events import services as event_services
from fenghuo.events.models import Channel, Report, ReportKind
from fenghuo.notify.services import notify_people, notify_unit
from fenghuo.opinion import services as opinion_services
from fenghuo.org.models import Person, Role, Unit
from fenghuo.org.policy import Grant, Principal
from fenghuo.org.selectors import on_duty

NOTICE_ROLES = (Role.REPORTER, Role.UNIT_LEADER, Role.DUTY_OFFICER)
KINDS = {"first": ReportKind.FIRST, "followup": ReportKind.FOLLOWUP, "final": ReportKind.FINAL}


def drill_principal(unit: Unit, role: str = Role.REPORTER) -> Principal:
    """The drill acting as one of `unit`'s people (演练导调), with no person behind it."""
    return Principal(
        person_id=None, grants=(Grant(unit.pk, unit.path, role),), label=f"演练导调（{unit.name}）"
    )


def perform(
    run: DrillRun, row: Injection, scenario: Scenario, units: dict[str, Participant]
) -> tuple[dict[str, Any], str]:
    """Make the injection happen; returns (what it created, a line for the timeline)."""
    spec = scenario.injection(row.key)
    handler = {
        "report": _report,
        "call": _call,
        "posts": _posts,
        "cap": _cap,
        "notice": _notice,
    }[spec.kind]
    return handler(run, row, spec, units)


def _marks(run: DrillRun) -> dict[str, Any]:
    return {"is_drill": True, "drill_tag": run.tag}


def _report_data(run: DrillRun, spec: Any, unit: Unit) -> dict[str, Any]:
    fields = spec.report.model_dump(exclude_none=True)
    occurred = fields.pop("occurred", 0)
    data: dict[str, Any] = {**fields, **_marks(run)}
    if "category" in data:
        data["category"] = EventCategory.objects.get(code=data["category"])
    # The scenario's minutes are drill minutes: a report "10 minutes before the start"
    # happened 1 real minute before it in a ×10 run.
    data["occurred_at"] = min(drilltime.real_at(run, occurred), clock.now())
    data.setdefault("division_code", unit.division_code)
    return data


def _report(run: DrillRun, row: Injection, spec: Any, units: dict[str, Participant]):
    unit = units[spec.unit].unit
    event = None
    if spec.follows:
        earlier = Injection.objects.get(run=run, key=spec.follows)
        report_id = earlier.outcome.get("report") or earlier.outcome.get("draft")
        if report_id is None:
            raise LookupError(f"所续的注入“{spec.follows}”没有形成报告")
        event = Report.objects.get(pk=report_id).event
        if event is None:
            raise LookupError(f"所续的注入“{spec.follows}”的报告尚未确认，没有事件可续")
    data = _report_data(run, spec, unit)
    if event is not None:
        for name in ("title", "category", "place", "division_code"):
            if name not in spec.report.model_fields_set:
                data.pop(name, None)  # taken from the event
        data.pop("occurred_at")
    result = event_services.file_report(
        drill_principal(unit),
        unit=unit,
        kind=KINDS[spec.report_kind],
        channel=spec.channel,
        data=data,
        event=event,
    )
    report = result.report
    note = f"{unit.name}{REPORT_KINDS[spec.report_kind]}：{report.title}（事件 {result.event.pk}）"
    return {"report": report.pk, "event": result.event.pk}, note


def _office_for(unit: Unit, spec_office: str | None, units: dict[str, Participant]) -> Unit:
    """The office that takes the call: the one named, else the nearest receiving office
    at or above the calling unit."""
    if spec_office:
        return units[spec_office].unit
    step = Unit.steplen
    paths = [unit.path[:i] for i in range(step, len(unit.path) + 1, step)]
    office = (
        Unit.objects.filter(path__in=paths, is_receiving_office=True, is_active=True)
        .order_by("-depth")
        .first()
    )
    if office is None:
        raise LookupError(f"{unit.name}及其上级没有接报值班室，无法接听来电")
    return office


def _call(run: DrillRun, row: Injection, spec: Any, units: dict[str, Participant]):
    """A call to an office: a phone draft of the calling unit, for the office's duty
    officer to take down (confirm), who is told that the phone is ringing."""
    unit = units[spec.unit].unit
    office = _office_for(unit, spec.office, units)
    result = event_services.file_report(
        drill_principal(unit),
        unit=unit,
        kind=ReportKind.FIRST,
        channel=Channel.PHONE,
        data=_report_data(run, spec, unit),
        draft=True,
        caller_name=spec.caller,
        caller_phone=spec.phone,
    )
    duty = on_duty(office)
    recipients = [p for p in (duty.primary,) if p is not None] or _people(office)
    notify_people(
        recipients,
        subject=f"来电：{spec.caller}（{unit.name}）报告{spec.report.title}",
        body=f"{spec.caller}（{spec.phone}）来电报告：{spec.report.narrative}\n请记录并确认报送。",
        key=f"drill:{run.tag}:{row.key}:call",
        link=reverse("drill-run", args=[run.pk]),
        ref=f"report:{result.report.pk}",
        urgent=True,
        **_marks(run),
    )
    note = f"{spec.caller}（{unit.name}）来电至{office.name}：{spec.report.title}（待记录）"
    return {"draft": result.report.pk, "office": office.pk}, note


def _posts(run: DrillRun, row: Injection, spec: Any, units: dict[str, Participant]):
    now = clock.now()
    items = []
    for copy in range(spec.repeat):
        for n, post in enumerate(spec.posts):
            number = copy * len(spec.posts) + n + 1
            items.append(
                {
                    "platform": post.platform,
                    "post_id": f"{run.tag}-{row.key}-{number}",
                    "text": post.text,
                    "published_at": now,
                    "author": post.author or f"网友{number:03d}",
                    "author_followers": post.followers,
                    "author_verified": post.verified,
                    "likes": post.likes,
                    "comments": post.comments,
                    "reposts": post.reposts,
                    "views": post.views,
                    "division_code": post.division_code or "",
                    **_marks(run),
                }
            )
    result = opinion_services.ingest(
        items, source=f"演练注入：{run.title}"[:100], actor=drill_principal(run.unit)
    )
    if result.errors:
        raise ValueError("；".join(f"第 {e.line} 条：{e.errors}" for e in result.errors[:3]))
    note = f"网络舆情：注入帖子 {result.stored} 条"
    return {"posts": result.stored}, note


def _cap(run: DrillRun, row: Injection, spec: Any, units: dict[str, Participant]):
    office = units[spec.office].unit
    sent = clock.now().replace(microsecond=0)
    raw = cap_document(run, row, spec, sent)
    outcome = alert_services.import_cap(
        drill_principal(office, Role.DUTY_OFFICER), raw, drill_tag=run.tag
    )
    if outcome.warning is not None:
        made = f"预警草稿 {outcome.warning.pk}"
    else:
        made = f"线索（待{outcome.report.unit.name}值班员确认）"
    note = f"外部预警（CAP {spec.msg_type}，演练）：{spec.headline} → {made}"
    return {
        "warning": outcome.warning.pk if outcome.warning else None,
        "draft": outcome.report.pk if outcome.report else None,
        "sent": cap_format.cap_time(sent),  # an Update's references repeat it
    }, note


def cap_document(run: DrillRun, row: Injection, spec: Any, sent: datetime) -> bytes:
    """The external alert as CAP 1.2 XML with status Exercise (what a weather service's
    system would send in an exercise)."""
    E = ElementMaker(namespace=cap_format.CAP_NS, nsmap={None: cap_format.CAP_NS})
    sender = f"drill-{run.tag}"
    urgency, severity, certainty, response = cap_format.LEVEL_CAP[COLOURS[spec.colour]]
    parts = [
        E.identifier(f"{run.tag}-{row.key}"),
        E.sender(sender),
        E.sent(cap_format.cap_time(sent)),
        E.status("Exercise"),
        E.msgType(spec.msg_type),
        E.scope("Public"),
    ]
    if spec.references:
        earlier = Injection.objects.get(run=run, key=spec.references)
        parts.append(E.references(f"{sender},{run.tag}-{earlier.key},{earlier.outcome['sent']}"))
    category = cap_format.CAP_CATEGORY.get(spec.category or "", "Met")
    info = [
        E.language(cap_format.LANGUAGE),
        E.category(category),
        E.event(spec.event),
        E.responseType(response),
        E.urgency(urgency),
        E.severity(severity),
        E.certainty(certainty),
    ]
    if spec.category:
        info.append(E.eventCode(E.valueName(cap_format.CATEGORY_CODE_NAME), E.value(spec.category)))
    info += [
        E.effective(cap_format.cap_time(sent)),
        E.expires(cap_format.cap_time(sent + timedelta(minutes=spec.expires) / run.speed)),
        E.senderName(spec.sender),
        E.headline(spec.headline),
        E.description(spec.description),
    ]
    if spec.instruction:
        info.append(E.instruction(spec.instruction))
    area = [E.areaDesc(spec.area)]
    area += [
        E.geocode(E.valueName(cap_format.GEOCODE_NAME), E.value(code))
        for code in spec.division_codes
    ]
    info.append(E.area(*area))
    parts.append(E.info(*info))
    return etree.tostring(E.alert(*parts), xml_declaration=True, encoding="UTF-8")


def _people(unit: Unit) -> list[Person]:
    return list(
        Person.objects.filter(
            memberships__unit=unit, memberships__role__in=NOTICE_ROLES, is_active=True
        )
        .distinct()
        .order_by("pk")
    )


def _notice(run: DrillRun, row: Injection, spec: Any, units: dict[str, Participant]):
    """情况通报: an in-app message (and the units' robots) telling units what happened."""
    reached = []
    for key in spec.to:
        unit = units[key].unit
        message = {
            "subject": spec.subject,
            "body": spec.text,
            "key": f"drill:{run.tag}:{row.key}:{unit.pk}",
            "link": reverse("drill-run", args=[run.pk]),
            "ref": f"drill:{run.pk}",
            "urgent": spec.urgent,
            **_marks(run),
        }
        notify_people(_people(unit), **message)
        notify_unit(unit, **message)
        reached.append(unit.name)
    note = f"情况通报（{'、'.join(reached)}）：{spec.subject}"
    return {"units": [units[k].unit_id for k in spec.to]}, note
