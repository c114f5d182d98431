"""Reads of releases through the access policy, the approval rule, the public view and the
prefilled draft.

Who sees what:
- a published version: whoever may see its event (`events.selectors.events_visible`, which
  goes through `org.policy`); the public sees it too unless it is a drill;
- every version (drafts, under review, returned): the drafting unit (its people with a
  drafting role), the approvers of that unit (below) and the version's author.

Who approves and publishes is configuration, `FENGHUO_RELEASE_APPROVERS`: a list of rules
{"roles": [...], "unit_kinds": [...], "reach": "unit" | "parent"}. A person holding one of
`roles` in a unit of one of `unit_kinds` (empty: any kind) approves the releases of every
unit in the subtree of that unit ("unit") or of its parent ("parent": a propaganda
department serves the committee it belongs to, so its leader approves for that
committee's whole area). The default: 组长 / 副组长 / 办公室 of the leading group at the
issuing unit or above it, and the 单位领导 of a 宣传 (propaganda) unit.
"""

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db.models import Q, QuerySet
from django.utils import timezone

from fenghuo.core import clock
from fenghuo.core.models import Confidentiality
from fenghuo.events.models import Event, Report, ReportStatus
from fenghuo.events.selectors import event_reports, events_visible, figures_table
from fenghuo.org.models import Membership, Person, Role, Unit
from fenghuo.org.policy import Principal
from fenghuo.release.models import Release, ReleaseVersion, VersionState

DEFAULT_APPROVERS: list[dict[str, Any]] = [
    {
        "roles": [Role.GROUP_LEADER, Role.GROUP_DEPUTY, Role.GROUP_OFFICE],
        "unit_kinds": [],
        "reach": "unit",
    },
    {"roles": [Role.UNIT_LEADER], "unit_kinds": ["propaganda"], "reach": "parent"},
]
# Who writes drafts for their own unit (FENGHUO_RELEASE_DRAFTING_ROLES): everyone with a
# working role there, not its administrators (structure) or experts (advice only).
DEFAULT_DRAFTING_ROLES = (
    Role.REPORTER,
    Role.UNIT_LEADER,
    Role.DUTY_OFFICER,
    Role.GROUP_LEADER,
    Role.GROUP_DEPUTY,
    Role.GROUP_MEMBER,
    Role.GROUP_OFFICE,
    Role.ANALYST,
)


@dataclass(frozen=True)
class ApproverRule:
    roles: frozenset[str]
    unit_kinds: frozenset[str]
    reach: str  # "unit" or "parent"


def approver_rules() -> list[ApproverRule]:
    configured = getattr(settings, "FENGHUO_RELEASE_APPROVERS", DEFAULT_APPROVERS)
    return [
        ApproverRule(
            frozenset(rule["roles"]),
            frozenset(rule.get("unit_kinds") or ()),
            rule.get("reach", "unit"),
        )
        for rule in configured
    ]


def drafting_roles() -> tuple[str, ...]:
    return tuple(getattr(settings, "FENGHUO_RELEASE_DRAFTING_ROLES", DEFAULT_DRAFTING_ROLES))


def _parent_path(path: str) -> str:
    return path[: -Unit.steplen] or path


def approval_roots(principal: Principal) -> list[str]:
    """Tree paths under which `principal` approves releases (empty: approves none)."""
    rules = approver_rules()
    grants = [g for g in principal.grants if any(g.role in r.roles for r in rules)]
    if not grants:
        return []
    kinds = dict(
        Unit.objects.filter(pk__in={g.unit_id for g in grants}).values_list("pk", "kind__code")
    )
    roots = set()
    for g in grants:
        for rule in rules:
            if g.role in rule.roles and (
                not rule.unit_kinds or kinds.get(g.unit_id) in rule.unit_kinds
            ):
                roots.add(g.unit_path if rule.reach == "unit" else _parent_path(g.unit_path))
    return sorted(roots)


def may_approve(principal: Principal, release: Release, roots: list[str] | None = None) -> bool:
    """May approve, reject and publish the versions of `release` (`roots`: the principal's
    `approval_roots`, when the caller has them already)."""
    if roots is None:
        roots = approval_roots(principal)
    return any(release.unit.path.startswith(root) for root in roots)


def drafting_unit_ids(principal: Principal) -> set[int]:
    roles = drafting_roles()
    return {g.unit_id for g in principal.grants if g.role in roles}


def drafting_units(principal: Principal) -> QuerySet[Unit]:
    return Unit.objects.filter(pk__in=drafting_unit_ids(principal), is_active=True).order_by("path")


def may_draft(principal: Principal, unit: Unit) -> bool:
    """May write, edit and submit releases issued in the name of `unit`."""
    return unit.pk in drafting_unit_ids(principal)


def _approver_q(principal: Principal, prefix: str) -> Q:
    q = Q(pk__in=[])
    for root in approval_roots(principal):
        q |= Q(**{f"{prefix}__path__startswith": root})
    return q


def versions_visible(principal: Principal) -> QuerySet[ReleaseVersion]:
    q = Q(state=VersionState.PUBLISHED, release__event__in=events_visible(principal))
    q |= Q(release__unit_id__in=drafting_unit_ids(principal))
    q |= _approver_q(principal, "release__unit")
    if principal.person_id is not None:
        q |= Q(created_by_id=principal.person_id)
    return ReleaseVersion.objects.filter(q)


def releases_visible(principal: Principal) -> QuerySet[Release]:
    """Releases with at least one version the principal may read."""
    return Release.objects.filter(
        pk__in=versions_visible(principal).values("release_id")
    ).select_related("event", "unit", "current")


def release_versions(principal: Principal, release: Release) -> list[ReleaseVersion]:
    """The versions of `release` the principal may read, newest first."""
    return list(
        versions_visible(principal)
        .filter(release=release)
        .select_related("created_by", "submitted_by", "reviewed_by", "published_by")
        .order_by("-number")
    )


def open_version(release: Release) -> ReleaseVersion | None:
    """The version in the works (draft, under review or approved), if any."""
    return (
        release.versions.filter(
            state__in=[VersionState.DRAFT, VersionState.PENDING, VersionState.APPROVED]
        )
        .order_by("-number")
        .first()
    )


def approval_queue(principal: Principal) -> QuerySet[ReleaseVersion]:
    """Versions awaiting review (or approved, awaiting publication) that `principal` may
    decide: under their approval roots, and not written or submitted by themselves."""
    roots = _approver_q(principal, "release__unit")
    queue = ReleaseVersion.objects.filter(
        roots, state__in=[VersionState.PENDING, VersionState.APPROVED]
    )
    if principal.person_id is not None:
        queue = queue.exclude(created_by_id=principal.person_id).exclude(
            submitted_by_id=principal.person_id
        )
    return queue.select_related("release", "release__event", "release__unit", "submitted_by")


def approvers_of(release: Release) -> list[Person]:
    """The active people who may approve `release` (for notifying them)."""
    path = release.unit.path
    ancestors = [path[:i] for i in range(Unit.steplen, len(path) + 1, Unit.steplen)]
    people: dict[int, Person] = {}
    for rule in approver_rules():
        if rule.reach == "unit":
            where = Q(unit__path__in=ancestors)
        else:  # children of an ancestor (or a root unit itself)
            where = Q(unit__path__in=ancestors[:1], unit__depth=1)
            for ancestor in ancestors:
                where |= Q(
                    unit__path__startswith=ancestor, unit__depth=len(ancestor) // Unit.steplen + 1
                )
        members = Membership.objects.filter(
            where, role__in=rule.roles, person__is_active=True, unit__is_active=True
        )
        if rule.unit_kinds:
            members = members.filter(unit__kind__code__in=rule.unit_kinds)
        for m in members.select_related("person"):
            people[m.person_id] = m.person
    return list(people.values())


# --- the public view -------------------------------------------------------------------


def public_releases() -> QuerySet[Release]:
    """Published, non-drill releases, latest publication first; `release.current` is the
    version to show (title, published_at …). This is all the public ever sees."""
    return (
        Release.objects.filter(is_drill=False, current__isnull=False)
        .select_related("current", "unit")
        .order_by("-last_published_at", "-pk")
    )


def public_history(release: Release) -> list[ReleaseVersion]:
    """The published versions of a public release, newest first (never drafts, versions
    under review or returned ones)."""
    return list(release.versions.filter(state=VersionState.PUBLISHED).order_by("-edition"))


# --- the prefilled draft ---------------------------------------------------------------

CASUALTIES = {
    "dead": "{}人死亡",
    "missing": "{}人失踪",
    "seriously_injured": "{}人重伤",
    "injured": "{}人受伤",
}


def _number(value: int | Decimal) -> str:
    return format(value.normalize(), "f") if isinstance(value, Decimal) else str(value)


def impact_sentence(current: dict[str, Any], at: datetime) -> str:
    """截至11月23日10时，事件造成1人死亡、4人受伤；直接经济损失约120万元；… (public wording
    of the current figures), or "" when nothing is known yet."""
    clauses = []
    people = [CASUALTIES[k].format(current[k]) for k in CASUALTIES if current.get(k)]
    if people:
        clauses.append("事件造成" + "、".join(people))
    elif any(current.get(k) is not None for k in CASUALTIES):
        clauses.append("事件未造成人员伤亡")
    if current.get("economic_loss") is not None:
        clauses.append(f"直接经济损失约{_number(current['economic_loss'])}万元")
    if current.get("affected") is not None:
        clauses.append(f"受影响群众{current['affected']}人")
    if current.get("evacuated") is not None:
        clauses.append(f"紧急疏散转移群众{current['evacuated']}人")
    if not clauses:
        return ""
    local = timezone.localtime(at)
    return f"截至{local.month}月{local.day}日{local.hour}时，" + "；".join(clauses) + "。"


def _latest(reports: list[Report], name: str) -> str:
    for report in reversed(reports):
        value = (getattr(report, name) or "").strip()
        if value:
            return value
    return ""


def prefill(principal: Principal, event: Event, unit: Unit | None = None) -> dict[str, Any]:
    """A draft's starting text from the event and its current figures.

    Only submitted reports the drafter may read and that are not marked 敏感 are used: a
    release is written for the public, and an event opened by a 敏感 report has a neutral
    title and no place for the same reason. The figures are the event's current ones
    (核实数 > responsible department > highest reported) over those reports.
    """
    reports = [
        r
        for r in event_reports(principal, event)
        if r.status == ReportStatus.SUBMITTED and r.confidentiality < Confidentiality.SENSITIVE
    ]
    table = figures_table(event, reports)
    subject = _latest(reports, "title").removeprefix("关于")
    contact = ""
    if unit is not None:
        contact = f"{unit.name}　电话：{unit.phone}" if unit.phone else unit.name
    return {
        "title": f"关于{subject}的情况通报" if subject else "",
        "occurred_at": reports[-1].occurred_at if reports else event.occurred_at,
        "place": _latest(reports, "place"),
        "cause": _latest(reports, "cause"),
        "overview": _latest(reports, "narrative"),
        "impact": impact_sentence(table.current, clock.now()),
        "measures": _latest(reports, "measures"),
        "advice": "",
        "contact": contact,
    }
