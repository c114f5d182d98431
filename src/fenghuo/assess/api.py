"""Evaluation over the API (thin): rankings and scorecards with the items behind each
figure, cases and their decisions, inquiry letters and answers, adoption, bulletins,
findings, similar events and the post-event summary. Creates take an Idempotency-Key."""

from typing import Any

from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.utils.http import content_disposition_header
from ninja import Header, Router, Status

from fenghuo.assess import documents, metrics, selectors, services
from fenghuo.assess.models import Bulletin, Case, Finding, Letter, LetterTemplate
from fenghuo.assess.periods import Period, parse
from fenghuo.assess.schemas import (
    AdoptIn,
    AdoptionOut,
    AnswerIn,
    BulletinIn,
    BulletinOut,
    CaseDecisionIn,
    CaseIn,
    CaseOut,
    DutyOut,
    FindingOut,
    FindingReviewIn,
    ItemOut,
    LessonsIn,
    LessonsOut,
    LetterIn,
    LetterOut,
    RankingOut,
    ScorecardOut,
    SimilarOut,
)
from fenghuo.core import clock
from fenghuo.documents.docx import DOCX_CONTENT_TYPE
from fenghuo.events.models import Event
from fenghuo.events.selectors import events_visible, reports_visible
from fenghuo.intake.schemas import FieldErrors
from fenghuo.intake.services import IdempotencyConflict, idempotent
from fenghuo.org.auth import request_principal
from fenghuo.org.models import Unit
from fenghuo.org.policy import Principal

router = Router(tags=["考核与串并分析"])
MAX_ROWS = 500
ERRORS = {403: FieldErrors, 404: FieldErrors, 409: FieldErrors, 422: FieldErrors}


def _file(content: bytes, content_type: str, name: str) -> HttpResponse:
    response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = content_disposition_header(True, name)
    return response


def _binary(description: str, content_type: str) -> dict:
    return {
        "responses": {
            200: {
                "description": description,
                "content": {content_type: {"schema": {"type": "string", "format": "binary"}}},
            },
            404: {"description": "不存在或无权查看"},
        }
    }


def _conflict() -> Status:
    return Status(
        409,
        {
            "detail": "该幂等键已用于内容不同的请求",
            "errors": {"Idempotency-Key": ["同一幂等键只能对应同一次创建"]},
        },
    )


def period_out(period: Period) -> dict:
    return {"key": period.key, "label": period.label, "start": period.start, "end": period.end}


def _office(principal: Principal, office_id: int | None) -> Unit:
    offices = selectors.ranking_offices(principal)
    office = offices.filter(pk=office_id).first() if office_id else offices.first()
    if office is None:
        raise ValidationError({"office_id": ["无可查看排名的单位"]})
    return office


def _unit(principal: Principal, unit_id: int) -> Unit:
    return get_object_or_404(selectors.units_visible(principal), pk=unit_id)


@router.get(
    "/assess/ranking",
    response={200: RankingOut, **ERRORS},
    summary="考核排名",
    description="office_id 下级各单位在考核期内的各项指标与排名（默认本人可看排名的第一个单位、"
    "当前两个月）。period=YYYY-MM 为所在的两个月；或 start、end 任意日期范围（北京时间）。",
)
def ranking(
    request: HttpRequest,
    office_id: int | None = None,
    period: str = "",
    start: str = "",
    end: str = "",
):
    principal = request_principal(request)
    chosen = parse(period, start, end)
    office = _office(principal, office_id)
    rows = metrics.ranking(office, chosen, selectors.units_visible(principal))
    return {
        "office_id": office.pk,
        "office": office.name,
        "period": period_out(chosen),
        "computed_at": clock.now(),
        "rows": [r.as_dict() for r in rows],
    }


@router.get(
    "/assess/ranking.xlsx",
    summary="考核排名（Excel）",
    description="与排名页面、/api/assess/ranking 相同的数字。",
    openapi_extra=_binary("Excel 工作簿", documents.XLSX_CONTENT_TYPE),
)
def ranking_xlsx(
    request: HttpRequest,
    office_id: int | None = None,
    period: str = "",
    start: str = "",
    end: str = "",
):
    principal = request_principal(request)
    chosen = parse(period, start, end)
    office = _office(principal, office_id)
    rows = metrics.ranking(office, chosen, selectors.units_visible(principal))
    title = f"{office.name}{chosen.label}紧急信息报送考核排名"
    content = documents.ranking_workbook(
        [r.as_dict() for r in rows],
        title=title,
        office=office.name,
        period=chosen.label,
        computed_at=clock.now(),
    )
    return _file(content, documents.XLSX_CONTENT_TYPE, documents.filename(title, "xlsx"))


def trend(unit: Unit, period: Period, count: int = 6) -> list[dict]:
    rows = []
    for p in period.recent(count):
        f = metrics.unit_figures(unit, p)
        rows.append(
            {
                "period": period_out(p),
                "score": float(f.score) if f.score is not None else None,
                "timeliness": float(f.timeliness) if f.timeliness is not None else None,
            }
        )
    return rows


@router.get(
    "/assess/units/{unit_id}/scorecard",
    response={200: ScorecardOut, **ERRORS},
    summary="单位考核情况",
    description="单位在考核期内的各项指标，以及最近六个两月期的总分和按时报送率。",
)
def scorecard(request: HttpRequest, unit_id: int, period: str = "", start: str = "", end: str = ""):
    principal = request_principal(request)
    chosen = parse(period, start, end)
    unit = _unit(principal, unit_id)
    figures = metrics.unit_figures(unit, chosen)
    return {
        "unit_id": unit.pk,
        "unit": unit.name,
        "period": period_out(chosen),
        "figures": figures.as_dict(),
        "trend": trend(unit, chosen),
    }


@router.get(
    "/assess/units/{unit_id}/figures/{figure}",
    response={200: list[ItemOut], **ERRORS},
    summary="指标明细",
    description="某项指标由哪些报送义务、报告、核对、问题或函询计出。figure："
    + "、".join(f"{k}（{v}）" for k, v in metrics.FIGURES.items()),
)
def figure_items(
    request: HttpRequest,
    unit_id: int,
    figure: str,
    period: str = "",
    start: str = "",
    end: str = "",
):
    principal = request_principal(request)
    chosen = parse(period, start, end)
    unit = _unit(principal, unit_id)
    if figure not in metrics.FIGURES:
        raise ValidationError({"figure": [f"未知的指标：{figure}"]})
    return [{**item.__dict__} for item in metrics.figure_items(unit, chosen, figure)]


# --- cases -----------------------------------------------------------------------------------


def case_out(principal: Principal, case: Case) -> dict[str, Any]:
    letter = Letter.objects.filter(case=case).values_list("pk", flat=True).first()
    links = case.obligation_links.select_related("obligation", "obligation__office")
    return {
        "id": case.pk,
        "kind": case.kind,
        "kind_label": case.kind_label,
        "state": case.state,
        "state_label": case.get_state_display(),
        "event_id": case.event_id,
        "event_title": case.event.title,
        "unit_id": case.unit_id,
        "unit": case.unit.name,
        "office": case.office.name if case.office_id else "",
        "at": case.at,
        "opened_at": case.opened_at,
        "summary": case.summary,
        "details": case.details,
        "decided_by": str(case.decided_by) if case.decided_by_id else "",
        "decided_at": case.decided_at,
        "decision_note": case.decision_note,
        "letter_id": letter,
        "obligations": [
            {
                "id": link.obligation.pk,
                "title": link.obligation.title,
                "due_at": link.obligation.due_at,
                "state_label": link.obligation.get_state_display(),
                "met_at": link.obligation.met_at,
                "minutes_late": link.obligation.minutes_late,
            }
            for link in links
        ],
        "may_decide": selectors.may_decide(principal, case),
    }


def _case(principal: Principal, case_id: int) -> Case:
    return get_object_or_404(selectors.cases_visible(principal), pk=case_id)


@router.get("/assess/cases", response=list[CaseOut], summary="考核问题列表")
def list_cases(
    request: HttpRequest,
    unit_id: int | None = None,
    kind: str = "",
    state: str = "",
    limit: int = 100,
):
    principal = request_principal(request)
    cases = selectors.cases_visible(principal).order_by("-at", "-pk")
    if unit_id is not None:
        cases = cases.filter(unit_id=unit_id)
    if kind:
        cases = cases.filter(kind=kind)
    if state:
        cases = cases.filter(state=state)
    return [case_out(principal, c) for c in cases[: max(1, min(limit, MAX_ROWS))]]


@router.get("/assess/cases/{case_id}", response={200: CaseOut, 404: FieldErrors})
def get_case(request: HttpRequest, case_id: int):
    principal = request_principal(request)
    return case_out(principal, _case(principal, case_id))


@router.post(
    "/assess/cases",
    response={201: CaseOut, 200: CaseOut, **ERRORS},
    summary="登记泄密事件",
    description="上级单位的值班员或领导登记某单位的泄密事件（如密级标注过低、在系统外传播）。",
)
def create_case(
    request: HttpRequest,
    payload: CaseIn,
    idempotency_key: str | None = Header(None, alias="Idempotency-Key", max_length=128),
):
    principal = request_principal(request)

    def create() -> tuple[int, dict]:
        event = events_visible(principal).filter(pk=payload.event_id).first()
        unit = Unit.objects.filter(pk=payload.unit_id).first()
        errors = {}
        if event is None:
            errors["event_id"] = ["事件不存在或无权访问"]
        if unit is None:
            errors["unit_id"] = ["单位不存在"]
        if errors:
            raise ValidationError(errors)
        report = None
        if payload.report_id is not None:
            report = reports_visible(principal).filter(pk=payload.report_id).first()
            if report is None:
                raise ValidationError({"report_id": ["报告不存在或无权访问"]})
        case = services.record_incident(
            principal,
            event=event,
            unit=unit,
            description=payload.description,
            report=report,
            at=payload.at,
        )
        return 201, {"case_id": case.pk}

    try:
        replay = idempotent(principal, idempotency_key, payload.dict(), create)
    except IdempotencyConflict:
        return _conflict()
    case = _case(principal, replay.body["case_id"])
    return Status(200 if replay.replayed else 201, case_out(principal, case))


@router.post(
    "/assess/cases/{case_id}/confirm",
    response={200: CaseOut, **ERRORS},
    summary="确认问题",
    description="上级单位的值班员或领导确认。疑似瞒报须经确认才计入考核、才能函询。",
)
def confirm_case(request: HttpRequest, case_id: int, payload: CaseDecisionIn):
    principal = request_principal(request)
    case = services.decide_case(
        principal, _case(principal, case_id), confirm=True, note=payload.note
    )
    return case_out(principal, case)


@router.post(
    "/assess/cases/{case_id}/dismiss",
    response={200: CaseOut, **ERRORS},
    summary="排除问题",
    description="须说明理由；排除后不计入考核。",
)
def dismiss_case(request: HttpRequest, case_id: int, payload: CaseDecisionIn):
    principal = request_principal(request)
    case = services.decide_case(
        principal, _case(principal, case_id), confirm=False, note=payload.note
    )
    return case_out(principal, case)


# --- letters ----------------------------------------------------------------------------------


def letter_out(principal: Principal, letter: Letter) -> dict[str, Any]:
    return {
        "id": letter.pk,
        "case_id": letter.case_id,
        "number": letter.number,
        "title": letter.title,
        "body": letter.body,
        "unit_id": letter.unit_id,
        "unit": letter.unit.name,
        "office": letter.office.name,
        "issued_by": str(letter.issued_by) if letter.issued_by_id else "",
        "issued_at": letter.issued_at,
        "due_at": letter.due_at,
        "state": letter.state,
        "state_label": letter.get_state_display(),
        "chases": letter.chases,
        "explanation": letter.explanation,
        "measures": letter.measures,
        "answered_by": str(letter.answered_by) if letter.answered_by_id else "",
        "answered_at": letter.answered_at,
        "answered_late": letter.answered_late,
        "may_answer": selectors.may_answer(principal, letter) and letter.answered_at is None,
    }


def _letter(principal: Principal, letter_id: int) -> Letter:
    return get_object_or_404(selectors.letters_visible(principal), pk=letter_id)


@router.post(
    "/assess/cases/{case_id}/letter",
    response={201: LetterOut, 200: LetterOut, **ERRORS},
    summary="发出函询",
    description="对已确认的问题按模板发出函询，通知被函询单位；一个问题一份函询，再次提交返回已有的函询。",
)
def issue_letter(
    request: HttpRequest,
    case_id: int,
    payload: LetterIn,
    idempotency_key: str | None = Header(None, alias="Idempotency-Key", max_length=128),
):
    principal = request_principal(request)
    case = _case(principal, case_id)

    def create() -> tuple[int, dict]:
        template = None
        if payload.template_id is not None:
            template = LetterTemplate.objects.filter(pk=payload.template_id).first()
            if template is None:
                raise ValidationError({"template_id": ["函询模板不存在"]})
        letter, created = services.issue_letter(
            principal, case, due_at=payload.due_at, template=template
        )
        return 201 if created else 200, {"letter_id": letter.pk}

    try:
        replay = idempotent(principal, idempotency_key, {"case": case_id, **payload.dict()}, create)
    except IdempotencyConflict:
        return _conflict()
    letter = _letter(principal, replay.body["letter_id"])
    status = 200 if replay.replayed else replay.status_code
    return Status(status, letter_out(principal, letter))


@router.get("/assess/letters", response=list[LetterOut], summary="函询列表")
def list_letters(
    request: HttpRequest, state: str = "", unit_id: int | None = None, limit: int = 100
):
    principal = request_principal(request)
    letters = selectors.letters_visible(principal).order_by("-issued_at", "-pk")
    if state:
        letters = letters.filter(state=state)
    if unit_id is not None:
        letters = letters.filter(unit_id=unit_id)
    return [letter_out(principal, x) for x in letters[: max(1, min(limit, MAX_ROWS))]]


@router.get("/assess/letters/{letter_id}", response={200: LetterOut, 404: FieldErrors})
def get_letter(request: HttpRequest, letter_id: int):
    principal = request_principal(request)
    return letter_out(principal, _letter(principal, letter_id))


@router.post(
    "/assess/letters/{letter_id}/answer",
    response={200: LetterOut, **ERRORS},
    summary="答复函询",
    description="被函询单位书面说明情况并报送整改措施；两项均为必填。",
)
def answer_letter(request: HttpRequest, letter_id: int, payload: AnswerIn):
    principal = request_principal(request)
    letter = services.answer_letter(
        principal,
        _letter(principal, letter_id),
        explanation=payload.explanation,
        measures=payload.measures,
    )
    return letter_out(principal, letter)


@router.get(
    "/assess/letters/{letter_id}/letter.docx",
    summary="函询（Word）",
    openapi_extra=_binary("Word 文档", DOCX_CONTENT_TYPE),
)
def letter_docx(request: HttpRequest, letter_id: int):
    letter = _letter(request_principal(request), letter_id)
    return _file(
        documents.render_letter(letter),
        DOCX_CONTENT_TYPE,
        documents.filename(letter.number, "docx"),
    )


# --- adoption ----------------------------------------------------------------------------------


@router.post(
    "/reports/{report_id}/adopt",
    response={201: AdoptionOut, 200: AdoptionOut, **ERRORS},
    summary="采用报告",
    description="上级接报值班室的值班员标记该报告被本室采用；重复标记返回已有记录。",
)
def adopt(request: HttpRequest, report_id: int, payload: AdoptIn):
    principal = request_principal(request)
    report = get_object_or_404(reports_visible(principal).select_related("unit"), pk=report_id)
    office = None
    if payload.office_id is not None:
        office = Unit.objects.filter(pk=payload.office_id).first()
        if office is None:
            raise ValidationError({"office_id": ["单位不存在"]})
    adoption, created = services.adopt(principal, report, office=office, note=payload.note)
    return Status(
        201 if created else 200,
        {
            "id": adoption.pk,
            "report_id": adoption.report_id,
            "office_id": adoption.office_id,
            "office": adoption.office.name,
            "adopted_by": str(adoption.adopted_by) if adoption.adopted_by_id else "",
            "adopted_at": adoption.adopted_at,
            "note": adoption.note,
        },
    )


# --- bulletins --------------------------------------------------------------------------------


def bulletin_out(principal: Principal, bulletin: Bulletin) -> dict[str, Any]:
    return {
        "id": bulletin.pk,
        "office_id": bulletin.office_id,
        "office": bulletin.office.name,
        "year": bulletin.year,
        "sequence": bulletin.sequence,
        "title": bulletin.title,
        "period_label": bulletin.period_label,
        "period_start": bulletin.period_start,
        "period_end": bulletin.period_end,
        "computed_at": bulletin.computed_at,
        "created_at": bulletin.created_at,
        "circulated_at": bulletin.circulated_at,
        "rows": bulletin.rows,
        "cases": bulletin.cases,
        "findings": bulletin.findings,
        "may_circulate": bulletin.circulated_at is None
        and selectors.may_make_bulletin(principal, bulletin.office),
    }


def _bulletin(principal: Principal, bulletin_id: int) -> Bulletin:
    return get_object_or_404(selectors.bulletins_visible(principal), pk=bulletin_id)


@router.get("/assess/bulletins", response=list[BulletinOut], summary="通报列表")
def list_bulletins(request: HttpRequest, limit: int = 50):
    principal = request_principal(request)
    bulletins = selectors.bulletins_visible(principal).order_by("-created_at", "-pk")
    return [bulletin_out(principal, b) for b in bulletins[: max(1, min(limit, MAX_ROWS))]]


@router.post(
    "/assess/bulletins",
    response={201: BulletinOut, 200: BulletinOut, **ERRORS},
    summary="制作通报",
    description="按考核期冻结下级各单位的排名、问题清单和串并分析，编号成期（尚未印发）。",
)
def create_bulletin(
    request: HttpRequest,
    payload: BulletinIn,
    idempotency_key: str | None = Header(None, alias="Idempotency-Key", max_length=128),
):
    principal = request_principal(request)

    def create() -> tuple[int, dict]:
        office = selectors.ranking_offices(principal).filter(pk=payload.office_id).first()
        if office is None:
            raise ValidationError({"office_id": ["无权为该单位制作通报"]})
        chosen = parse(payload.period, payload.start, payload.end)
        bulletin = services.create_bulletin(principal, office=office, period=chosen)
        return 201, {"bulletin_id": bulletin.pk}

    try:
        replay = idempotent(principal, idempotency_key, payload.dict(), create)
    except IdempotencyConflict:
        return _conflict()
    bulletin = _bulletin(principal, replay.body["bulletin_id"])
    return Status(200 if replay.replayed else 201, bulletin_out(principal, bulletin))


@router.get("/assess/bulletins/{bulletin_id}", response={200: BulletinOut, 404: FieldErrors})
def get_bulletin(request: HttpRequest, bulletin_id: int):
    principal = request_principal(request)
    return bulletin_out(principal, _bulletin(principal, bulletin_id))


@router.post(
    "/assess/bulletins/{bulletin_id}/circulate",
    response={200: BulletinOut, **ERRORS},
    summary="印发通报",
    description="通过通知发件箱送达每个参加排名的单位；再次印发不重复发送。",
)
def circulate(request: HttpRequest, bulletin_id: int):
    principal = request_principal(request)
    bulletin = services.circulate(principal, _bulletin(principal, bulletin_id))
    return bulletin_out(principal, bulletin)


@router.get(
    "/assess/bulletins/{bulletin_id}/bulletin.xlsx",
    summary="通报（Excel）",
    openapi_extra=_binary("Excel 工作簿", documents.XLSX_CONTENT_TYPE),
)
def bulletin_xlsx(request: HttpRequest, bulletin_id: int):
    bulletin = _bulletin(request_principal(request), bulletin_id)
    return _file(
        documents.bulletin_workbook(bulletin),
        documents.XLSX_CONTENT_TYPE,
        documents.filename(bulletin.title, "xlsx"),
    )


@router.get(
    "/assess/bulletins/{bulletin_id}/bulletin.docx",
    summary="通报（Word）",
    openapi_extra=_binary("Word 文档", DOCX_CONTENT_TYPE),
)
def bulletin_docx(request: HttpRequest, bulletin_id: int):
    bulletin = _bulletin(request_principal(request), bulletin_id)
    return _file(
        documents.render_bulletin(bulletin),
        DOCX_CONTENT_TYPE,
        documents.filename(bulletin.title, "docx"),
    )


# --- findings and similar events ---------------------------------------------------------------


def finding_out(finding: Finding) -> dict[str, Any]:
    return {
        "id": finding.pk,
        "kind": finding.kind,
        "kind_label": finding.get_kind_display(),
        "state": finding.state,
        "state_label": finding.get_state_display(),
        "title": finding.title,
        "summary": finding.summary,
        "category": finding.category.name,
        "place": finding.place_label,
        "first_at": finding.first_at,
        "last_at": finding.last_at,
        "event_count": finding.event_count,
        "review_note": finding.review_note,
        "events": [
            {
                "event_id": link.event_id,
                "title": link.event.title,
                "occurred_at": link.event.occurred_at,
                "place": link.event.place,
                "similarity": link.similarity,
            }
            for link in selectors.finding_events(finding)
        ],
    }


def _finding(principal: Principal, finding_id: int) -> Finding:
    return get_object_or_404(selectors.findings_visible(principal), pk=finding_id)


@router.get("/assess/findings", response=list[FindingOut], summary="串并分析列表")
def list_findings(request: HttpRequest, state: str = "", limit: int = 100):
    principal = request_principal(request)
    findings = selectors.findings_visible(principal).order_by("-last_at", "-pk")
    if state:
        findings = findings.filter(state=state)
    return [finding_out(f) for f in findings[: max(1, min(limit, MAX_ROWS))]]


@router.get("/assess/findings/{finding_id}", response={200: FindingOut, 404: FieldErrors})
def get_finding(request: HttpRequest, finding_id: int):
    return finding_out(_finding(request_principal(request), finding_id))


@router.post(
    "/assess/findings/{finding_id}/review",
    response={200: FindingOut, **ERRORS},
    summary="研判串并分析",
)
def review_finding(request: HttpRequest, finding_id: int, payload: FindingReviewIn):
    principal = request_principal(request)
    finding = services.review_finding(
        principal, _finding(principal, finding_id), state=payload.state, note=payload.note
    )
    return finding_out(finding)


def _event(principal: Principal, event_id: int) -> Event:
    return get_object_or_404(events_visible(principal), pk=event_id)


@router.get(
    "/events/{event_id}/similar",
    response={200: list[SimilarOut], 404: FieldErrors},
    summary="相似事件",
    description="本人可见的、一年内内容相似的事件（TF-IDF 余弦相似度）。",
)
def similar(request: HttpRequest, event_id: int, limit: int = 5):
    principal = request_principal(request)
    event = _event(principal, event_id)
    return [
        {
            "event_id": e.pk,
            "title": e.title,
            "occurred_at": e.occurred_at,
            "place": e.place,
            "similarity": round(score, 3),
        }
        for e, score in services.similar_events(principal, event, max(1, min(limit, 20)))
    ]


@router.get(
    "/assess/duties",
    response=list[DutyOut],
    summary="属地报告责任",
    description="辖区内发生、须由本单位报告的事件及其时限和履行情况。",
)
def list_duties(
    request: HttpRequest, unit_id: int | None = None, state: str = "", limit: int = 100
):
    principal = request_principal(request)
    duties = selectors.duties_visible(principal).order_by("-due_at", "-pk")
    if unit_id is not None:
        duties = duties.filter(unit_id=unit_id)
    if state:
        duties = duties.filter(state=state)
    return [
        {
            "id": d.pk,
            "event_id": d.event_id,
            "event_title": d.event.title,
            "unit_id": d.unit_id,
            "unit": d.unit.name,
            "reason": d.reason,
            "known_at": d.known_at,
            "due_at": d.due_at,
            "state": d.state,
            "state_label": d.get_state_display(),
            "met_at": d.met_at,
            "minutes_late": d.minutes_late,
        }
        for d in duties[: max(1, min(limit, MAX_ROWS))]
    ]


# --- the post-event summary --------------------------------------------------------------------


def lessons_out(principal: Principal, event: Event) -> dict[str, Any]:
    review = selectors.event_review(event)
    return {
        "event_id": event.pk,
        "lessons": review.lessons if review else "",
        "updated_by": str(review.updated_by) if review and review.updated_by_id else "",
        "updated_at": review.updated_at if review else None,
        "may_edit": selectors.may_write_lessons(principal, event),
    }


@router.get("/assess/events/{event_id}/lessons", response={200: LessonsOut, 404: FieldErrors})
def get_lessons(request: HttpRequest, event_id: int):
    principal = request_principal(request)
    return lessons_out(principal, _event(principal, event_id))


@router.put(
    "/assess/events/{event_id}/lessons",
    response={200: LessonsOut, **ERRORS},
    summary="填写经验教训",
    description="事件结束后，事发地上级的值班员或领导填写总结评估中的经验教训。",
)
def put_lessons(request: HttpRequest, event_id: int, payload: LessonsIn):
    principal = request_principal(request)
    event = _event(principal, event_id)
    services.save_lessons(principal, event, payload.lessons)
    return lessons_out(principal, event)


@router.get(
    "/assess/events/{event_id}/summary.docx",
    summary="总结评估（Word）",
    description="已结束的事件：时间线、各单位报送时效、首报与核实数字、经验教训。",
    openapi_extra=_binary("Word 文档", DOCX_CONTENT_TYPE),
)
def summary_docx(request: HttpRequest, event_id: int):
    principal = request_principal(request)
    event = _event(principal, event_id)
    if event.status not in selectors.ENDED:
        raise ValidationError({"event": ["事件结束后才能生成总结评估"]})
    parts = selectors.summary_parts(principal, event)
    return _file(
        documents.render_summary(event, **parts),
        DOCX_CONTENT_TYPE,
        documents.filename(f"{event.title}总结评估", "docx"),
    )
