"""The e-mail channel: a real SMTP conversation with the receiver, drafts from what the
message says, idempotent redelivery, and the duty officer's confirm / reject."""

import hashlib
import smtplib
from datetime import timedelta
from email.message import EmailMessage
from email.utils import make_msgid

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from fenghuo.core import clock
from fenghuo.core.models import AuditEntry
from fenghuo.events.models import Channel, Event, Reliability, Report, ReportStatus
from fenghuo.intake import mail, services
from fenghuo.intake.models import InboundMessage
from fenghuo.intake.smtp import MailReceiver
from fenghuo.org.policy import principal_for


def _local(moment):
    return timezone.localtime(moment)


def _message(*, sender, to, subject, body, message_id=None, attachment=None, attachments=()):
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = to
    msg["Subject"] = subject
    msg["Message-ID"] = message_id or make_msgid(domain="jiangkou.gov.cn")
    msg.set_content(body)
    if attachment:
        name, data = attachment
        msg.add_attachment(data, maintype="image", subtype="jpeg", filename=name)
    for name, data in attachments:
        msg.add_attachment(data, maintype="application", subtype="octet-stream", filename=name)
    return msg


def _send(port, msg):
    with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
        return client.send_message(msg)


def _explosion_body(at):
    return (
        f"时间：{at:%Y年%m月%d日%H时%M分}\n"
        "地点：江口县化工园区临江化工厂\n"
        "江口县化工园区临江化工厂一车间发生爆炸，现场有人员被困，"
        "造成3人死亡，5人受伤，消防已到场处置。\n"
    )


@pytest.fixture
def receiver(transactional_db, django_db_serialized_rollback):
    """The SMTP receiver on 127.0.0.1, on a port the OS picks. Its worker thread writes
    through its own connection, so these tests commit (transactional) and restore the rows
    the migrations seed afterwards (serialized rollback)."""
    with MailReceiver("127.0.0.1", 0) as running:
        yield running


# --- a real SMTP conversation --------------------------------------------------------------


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_known_sender_mail_becomes_a_draft_of_their_unit_once(receiver, tree):
    occurred = _local(clock.now() - timedelta(hours=1)).replace(second=0, microsecond=0)
    photo = b"\xff\xd8\xff\xe0 not really a jpeg"
    msg = _message(
        sender="李信息 <Li.XX@jiangkou.gov.cn>",
        to="zhiban@jiangkou.gov.cn",
        subject="转发：江口县化工园区发生爆炸",
        body=_explosion_body(occurred),
        attachment=("现场.jpg", photo),
    )
    assert _send(receiver.port, msg) == {}  # every recipient accepted

    message = InboundMessage.objects.get()
    assert message.state == InboundMessage.State.DRAFTED
    assert message.message_id == msg["Message-ID"]
    assert message.from_address == "li.xx@jiangkou.gov.cn"
    assert message.recipients == ["zhiban@jiangkou.gov.cn"]
    assert message.subject == "转发：江口县化工园区发生爆炸"
    assert "一车间发生爆炸" in message.body
    assert message.attachments == [
        {
            "filename": "现场.jpg",
            "content_type": "image/jpeg",
            "size": len(photo),
            "sha256": hashlib.sha256(photo).hexdigest(),
        }
    ]
    assert len(bytes(message.raw)) == message.size and msg["Message-ID"].encode() in message.raw
    assert message.sender_known and message.sender_person == tree["people"]["bureau_reporter"]

    report = message.report
    assert report.status == ReportStatus.DRAFT and report.event is None
    assert report.channel == Channel.EMAIL
    assert report.unit == tree["bureau"]
    assert report.created_by == tree["people"]["bureau_reporter"]
    assert report.title == "江口县化工园区发生爆炸"
    assert report.place == "江口县化工园区临江化工厂"
    assert report.occurred_at == occurred
    assert (report.dead, report.injured) == (3, 5)
    assert report.category.code == "hazchem"  # guessed from 爆炸 / 化工 …
    assert message.provisional_fields == ["category"]  # … so the officer must confirm it
    assert report.received_at == message.received_at
    # The photo (JPEG magic number) is on the draft, stored once, readable with it.
    assert [(a.name, a.kind, a.sha256) for a in report.attachments.all()] == [
        ("现场.jpg", "image", hashlib.sha256(photo).hexdigest())
    ]

    # The sending server retries (say the 250 was lost): nothing new.
    assert _send(receiver.port, msg) == {}
    assert InboundMessage.objects.count() == 1
    assert Report.objects.count() == 1


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_unknown_sender_lands_with_the_receiving_office(receiver, tree):
    msg = _message(
        sender="王群众 <wang123@example.com>",
        to="Zhiban@Jiangkou.gov.cn",
        subject="我们村后山有大片山体滑坡",
        body="后山滑坡，冲毁了两间房子，联系电话：13800000000",
    )
    _send(receiver.port, msg)

    message = InboundMessage.objects.get()
    report = message.report
    assert not message.sender_known and message.sender_person is None
    assert message.unit == tree["county"] == report.unit  # the office it was sent to
    assert report.created_by is None
    assert report.caller_name == "王群众"
    assert report.caller_phone == "13800000000"
    assert "wang123@example.com" in report.source
    assert report.reliability == Reliability.UNVERIFIED
    assert report.category.code == "geological"
    # No time was stated: the draft carries the time of receipt, marked as a guess.
    assert sorted(message.provisional_fields) == ["category", "occurred_at"]
    assert report.occurred_at == message.received_at


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_oversized_message_is_refused_and_not_stored(transactional_db, tree):
    with MailReceiver("127.0.0.1", 0, max_bytes=4096) as receiver:
        msg = _message(
            sender="li.xx@jiangkou.gov.cn",
            to="zhiban@jiangkou.gov.cn",
            subject="大附件",
            body="见附件",
            attachment=("big.jpg", b"x" * 20000),
        )
        with pytest.raises(smtplib.SMTPException) as refused:
            _send(receiver.port, msg)
    assert "552" in str(refused.value)
    assert not InboundMessage.objects.exists() and not Report.objects.exists()


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_storage_failure_asks_the_sender_to_retry(receiver, tree, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("database unavailable")

    monkeypatch.setattr(services, "receive_message", broken)
    msg = _message(
        sender="li.xx@jiangkou.gov.cn", to="zhiban@jiangkou.gov.cn", subject="x", body="y"
    )
    with pytest.raises(smtplib.SMTPDataError) as deferred:
        _send(receiver.port, msg)
    assert deferred.value.smtp_code == 451  # temporary: the sending server will retry
    assert not InboundMessage.objects.exists()


# --- storing, confirming and rejecting (no network needed) ---------------------------------


def _receive(tree, **kwargs):
    msg = _message(
        sender=kwargs.pop("sender", "王群众 <wang123@example.com>"),
        to="zhiban@jiangkou.gov.cn",
        subject=kwargs.pop("subject", "江口县城关镇发生火灾"),
        body=kwargs.pop("body", "城关镇人民路一商铺起火，有人员被困。"),
        **kwargs,
    )
    message, _ = services.receive_message(msg.as_bytes(), recipients=["zhiban@jiangkou.gov.cn"])
    return message


@pytest.mark.django_db
def test_message_without_message_id_is_still_idempotent(tree):
    msg = _message(sender="a@example.com", to="zhiban@jiangkou.gov.cn", subject="s", body="b")
    del msg["Message-ID"]
    first, created = services.receive_message(msg.as_bytes(), recipients=["zhiban@jiangkou.gov.cn"])
    again, created_again = services.receive_message(msg.as_bytes(), recipients=[])
    assert created and not created_again and first.pk == again.pk
    assert first.message_id.startswith("<sha256.")


@pytest.mark.django_db
def test_a_refused_attachment_is_noted_and_the_rest_kept(tree):
    pdf = b"%PDF-1.4\n1 0 obj<<>>endobj\n%%EOF\n"
    program = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00" + b"\x00" * 100
    message = _receive(tree, attachments=[("情况说明.pdf", pdf), ("现场照片.jpg", program)])
    assert [a.name for a in message.report.attachments.all()] == ["情况说明.pdf"]
    assert "以下附件未转存（原件仍在邮件中）：现场照片.jpg：不支持的文件类型" in message.note
    assert message.note.startswith("发件人未登记，请核实来源。")


@pytest.mark.django_db
def test_sender_known_by_unit_mailbox(tree):
    message = _receive(tree, sender="应急管理局 <yjj@jiangkou.gov.cn>")
    assert message.sender_known and message.sender_person is None
    assert message.report.unit == tree["bureau"]
    assert message.report.reliability == Reliability.PRELIMINARY


@pytest.mark.django_db
def test_duty_officer_confirms_draft_after_filling_the_guesses(tree):
    message = _receive(tree)
    report = message.report
    duty = principal_for(tree["people"]["county_duty"])
    occurred = clock.now() - timedelta(minutes=40)

    with pytest.raises(ValidationError) as missing:
        services.confirm_intake_draft(duty, report, {"place": "江口县城关镇人民路"})
    errors = missing.value.message_dict
    assert errors["category"] == ["类别为系统推测，须确认后填写"]
    assert errors["occurred_at"] == ["发生时间为系统推测，须确认后填写"]
    assert errors["division_code"] == ["行政区划代码为必填项"]
    assert Report.objects.get().status == ReportStatus.DRAFT

    result = services.confirm_intake_draft(
        duty,
        report,
        {
            "category": "fire",
            "occurred_at": occurred,
            "place": "江口县城关镇人民路",
            "division_code": "990121",
        },
    )
    report.refresh_from_db()
    message.refresh_from_db()
    assert report.status == ReportStatus.SUBMITTED and report.submitted_at is not None
    assert report.event == result.event and result.outcome == "new_event"
    assert report.category.code == "fire" and report.occurred_at == occurred
    assert message.state == InboundMessage.State.CONFIRMED
    assert message.decided_by == tree["people"]["county_duty"]
    assert Event.objects.get().timeline.filter(report=report).exists()
    assert AuditEntry.objects.filter(action="events.report.confirm", object_id=report.pk).exists()

    with pytest.raises(ValidationError):  # a submitted report is no longer a draft
        services.confirm_intake_draft(duty, report, {})


@pytest.mark.django_db
def test_only_a_duty_officer_at_or_above_confirms_or_rejects(tree):
    message = _receive(tree)
    for person in ("county_reporter", "bureau_duty"):
        with pytest.raises(PermissionDenied):
            services.reject_intake_draft(
                principal_for(tree["people"][person]), message.report, "无关邮件"
            )
    city_duty = principal_for(tree["people"]["city_duty"])
    with pytest.raises(ValidationError) as no_reason:
        services.reject_intake_draft(city_duty, message.report, "  ")
    assert "reason" in no_reason.value.message_dict

    services.reject_intake_draft(city_duty, message.report, "广告邮件，与突发事件无关")
    message.refresh_from_db()
    assert message.state == InboundMessage.State.REJECTED
    assert message.note == "广告邮件，与突发事件无关" and message.report is None
    assert not Report.objects.exists()
    assert AuditEntry.objects.filter(action="events.report.discard").exists()


@pytest.mark.django_db
def test_no_office_to_receive_keeps_the_message_as_new(db):
    msg = _message(sender="x@example.com", to="nobody@example.com", subject="s", body="b")
    message, created = services.receive_message(msg.as_bytes(), recipients=["nobody@example.com"])
    assert created and message.state == InboundMessage.State.NEW
    assert message.report is None and "未能确定归属单位" in message.note


# --- reading the text ----------------------------------------------------------------------


def test_draft_fields_read_the_usual_patterns():
    received = timezone.make_aware(timezone.datetime(2026, 11, 23, 12, 0))
    fields = mail.draft_fields(
        "Re: 关于江口县道路交通事故的报告",
        "发生时间：11月23日上午9时10分\n"
        "发生地点：江口县G320国道K15处\n"
        "类别：道路交通事故\n"
        "行政区划代码：990121\n"
        "两车相撞，造成三人死亡、十二人受伤，其中重伤4人，失踪：1人。",
        received,
    )
    assert fields["title"] == "关于江口县道路交通事故的报告"
    assert fields["occurred_at"] == timezone.make_aware(timezone.datetime(2026, 11, 23, 9, 10))
    assert fields["place"] == "江口县G320国道K15处"
    assert fields["category_code"] == "道路交通事故"
    assert fields["division_code"] == "990121"
    assert (fields["dead"], fields["injured"], fields["seriously_injured"], fields["missing"]) == (
        3,
        12,
        4,
        1,
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-11-22 23:05", (2026, 11, 22, 23, 5)),
        ("2026年11月23日9时", (2026, 11, 23, 9, 0)),
        ("12月30日8时", (2025, 12, 30, 8, 0)),  # no year, would be in the future: last year
        ("下午3点20分", (2026, 11, 22, 15, 20)),  # no date, later than now today: yesterday
        ("7:45", (2026, 11, 23, 7, 45)),
    ],
)
def test_parse_time(text, expected):
    reference = timezone.make_aware(timezone.datetime(2026, 11, 23, 12, 0))
    assert mail.parse_time(text, reference) == timezone.make_aware(timezone.datetime(*expected))


def test_chinese_numbers():
    assert [mail.chinese_number(t) for t in ("3", "三", "十", "十二", "二十", "一百零五")] == [
        3,
        3,
        10,
        12,
        20,
        105,
    ]
    assert mail.chinese_number("几") is None


# --- the duty officer's queue over the API --------------------------------------------------


@pytest.mark.django_db
def test_mail_drafts_queue_confirm_and_reject_over_the_api(client, tree):
    fire = _receive(tree)
    spam = _receive(tree, subject="推广信息", body="优惠活动")
    people = tree["people"]

    client.force_login(people["bureau_duty"])  # an office below the draft's unit
    assert client.get("/api/intake/mail-drafts").json() == []
    refused = client.post(
        f"/api/intake/mail-drafts/{fire.report_id}/reject",
        {"reason": "无关"},
        content_type="application/json",
    )
    assert refused.status_code == 404
    assert Report.objects.filter(pk=fire.report_id).exists()

    client.force_login(people["county_duty"])
    queue = client.get("/api/intake/mail-drafts").json()
    assert {d["report_id"] for d in queue} == {fire.report_id, spam.report_id}
    assert "category" in queue[0]["provisional_fields"]

    url = f"/api/intake/mail-drafts/{fire.report_id}/confirm"
    missing = client.post(url, {"place": "江口县城关镇人民路"}, content_type="application/json")
    assert missing.status_code == 422
    assert missing.json()["errors"]["category"] == ["类别为系统推测，须确认后填写"]
    confirmed = client.post(
        url,
        {
            "category": "fire",
            "occurred_at": (clock.now() - timedelta(minutes=30)).isoformat(),
            "place": "江口县城关镇人民路",
            "division_code": "990121",
        },
        content_type="application/json",
    )
    assert confirmed.status_code == 200, confirmed.content
    assert Report.objects.get(pk=fire.report_id).status == ReportStatus.SUBMITTED

    no_reason = client.post(
        f"/api/intake/mail-drafts/{spam.report_id}/reject",
        {"reason": " "},
        content_type="application/json",
    )
    assert no_reason.status_code == 422 and "reason" in no_reason.json()["errors"]
    rejected = client.post(
        f"/api/intake/mail-drafts/{spam.report_id}/reject",
        {"reason": "广告邮件"},
        content_type="application/json",
    )
    assert rejected.status_code == 204
    assert not Report.objects.filter(pk=spam.report_id).exists()
    assert InboundMessage.objects.get(pk=spam.pk).state == InboundMessage.State.REJECTED
    assert client.get("/api/intake/mail-drafts").json() == []
