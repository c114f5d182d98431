"""Every transport against a real local peer that checks what it receives the way the
provider documents it; a wrong secret is refused by the peer's own check."""

import pytest

from fenghuo.notify import dispatch, services
from fenghuo.notify.models import Channel, DeliveryAttempt, Message, State
from tests.notify.conftest import SECRETS, make_endpoint
from tests.processes import free_port

pytestmark = pytest.mark.django_db


def _deliver() -> None:
    dispatch.Dispatcher(threads=2).drain()


def _only(messages, channel) -> Message:
    [message] = [m for m in messages if m.channel == channel]
    message.refresh_from_db()
    return message


def _notify_city(org, key="report:1", **extra):
    return services.notify_unit(
        org["city"],
        subject="江口县化工园区发生爆炸",
        body="江口县报告：化工园区一车间爆炸，3 人死亡。请及时签收。",
        key=key,
        link="/events/1/",
        ref="report:1",
        **extra,
    )


def _last_attempt(message: Message) -> DeliveryAttempt:
    return DeliveryAttempt.objects.filter(message=message).latest("pk")


# -- generic webhook -------------------------------------------------------------------


def test_webhook_is_signed_and_carries_the_key(org, http_peer):
    make_endpoint(org["city"], Channel.WEBHOOK, f"{http_peer.url}/webhook", SECRETS["webhook"])
    [message] = _notify_city(org, urgent=True)
    _deliver()
    message.refresh_from_db()
    assert message.state == State.DELIVERED, message.last_error
    [received] = http_peer.sink.bodies("webhook")
    assert received.headers["idempotency-key"] == "report:1"
    data = received.json()
    assert data["subject"] == "江口县化工园区发生爆炸"
    assert data["link"] == "http://127.0.0.1:8000/events/1/"
    assert data["urgent"] is True and data["ref"] == "report:1"
    attempt = _last_attempt(message)
    assert (attempt.outcome, attempt.transport, attempt.detail) == (
        "delivered",
        "Webhook",
        "http:202",
    )


def test_webhook_with_a_wrong_secret_is_refused_by_the_sink(org, http_peer):
    make_endpoint(org["city"], Channel.WEBHOOK, f"{http_peer.url}/webhook", "not-the-secret")
    [message] = _notify_city(org)
    _deliver()
    message.refresh_from_db()
    assert http_peer.sink.rejected == [("webhook", '{"error": "bad signature"}')]
    # 401 will not change by retrying: a dead letter at once.
    assert message.state == State.DEAD
    assert _last_attempt(message).error_code == "http:401"


# -- group robots ----------------------------------------------------------------------


def test_wecom_robot_markdown(org, http_peer):
    url = f"{http_peer.url}/wecom/cgi-bin/webhook/send?key={SECRETS['wecom']}"
    make_endpoint(org["city"], Channel.WECOM_ROBOT, url)
    [message] = _notify_city(org)
    _deliver()
    message.refresh_from_db()
    assert message.state == State.DELIVERED, message.last_error
    content = http_peer.sink.bodies("wecom")[0].json()["markdown"]["content"]
    assert "**江口县化工园区发生爆炸**" in content and "3 人死亡" in content
    assert "[查看详情](http://127.0.0.1:8000/events/1/)" in content


def test_wecom_robot_error_in_a_200_answer_is_logged_with_its_errcode(org, http_peer):
    make_endpoint(org["city"], Channel.WECOM_ROBOT, f"{http_peer.url}/wecom/send?key=wrong")
    [message] = _notify_city(org)
    _deliver()
    message.refresh_from_db()
    assert message.state == State.RETRYING
    assert _last_attempt(message).error_code == "errcode:93000"


@pytest.mark.parametrize(
    ("secret", "state"), [(SECRETS["dingtalk"], "delivered"), ("SECwrong", "retrying")]
)
def test_dingtalk_robot_signing(org, http_peer, secret, state):
    url = f"{http_peer.url}/dingtalk/robot/send?access_token=abc123"
    make_endpoint(org["city"], Channel.DINGTALK_ROBOT, url, secret)
    [message] = _notify_city(org, urgent=True)
    _deliver()
    message.refresh_from_db()
    assert message.state == state
    [received] = http_peer.sink.bodies("dingtalk")
    assert received.query["access_token"] == "abc123"
    assert received.json()["at"] == {"isAtAll": True}
    if state == "retrying":
        assert _last_attempt(message).error_code == "errcode:310000"
        assert http_peer.sink.rejected[0][0] == "dingtalk"


@pytest.mark.parametrize(
    ("secret", "state"), [(SECRETS["feishu"], "delivered"), ("wrong", "retrying")]
)
def test_feishu_robot_signing(org, http_peer, secret, state):
    make_endpoint(org["city"], Channel.FEISHU_ROBOT, f"{http_peer.url}/feishu/hook/x", secret)
    [message] = _notify_city(org)
    _deliver()
    message.refresh_from_db()
    assert message.state == state
    text = http_peer.sink.bodies("feishu")[0].json()["content"]["text"]
    assert text.startswith("江口县化工园区发生爆炸\n")
    if state == "retrying":
        assert _last_attempt(message).error_code == "errcode:19021"


# -- SMS -------------------------------------------------------------------------------


def test_sms_through_a_generic_gateway(org, sms_gateway):
    person = org["people"]["county_duty"]
    services.set_person_chain(None, person, ["sms", "email"])
    messages = services.notify_people(
        [person], subject="紧急信息", body="江口县化工园区爆炸，请立即签收。", key="k-sms"
    )
    _deliver()
    sms = _only(messages, Channel.SMS)
    assert sms.state == State.DELIVERED, sms.last_error
    [received] = sms_gateway.sink.bodies("sms")
    assert received.json() == {
        "phone": "13800000001",
        "message": "紧急信息：江口县化工园区爆炸，请立即签收。",
        "bizId": "k-sms",
    }
    assert received.headers["idempotency-key"] == "k-sms"


@pytest.mark.parametrize(("secret", "state"), [(SECRETS["aliyun"], "delivered"), ("wrong", "dead")])
def test_sms_through_alibaba_cloud_sendsms(org, http_peer, settings, secret, state):
    settings.FENGHUO_NOTIFY_SMS = {
        "provider": "aliyun",
        "url": f"{http_peer.url}/aliyun/",
        "access_key_id": "testAccessKeyId",
        "access_key_secret": secret,
        "sign_name": "烽火平台",
        "template_code": "SMS_123456",
    }
    person = org["people"]["county_duty"]
    services.set_person_chain(None, person, ["sms"])
    messages = services.notify_people([person], subject="紧急信息 请签收", body="", key="k-ali")
    _deliver()
    sms = _only(messages, Channel.SMS)
    assert sms.state == state
    query = http_peer.sink.bodies("aliyun")[0].query
    assert query["Action"] == "SendSms" and query["OutId"] == "k-ali"
    assert query["PhoneNumbers"] == "13800000001" and query["SignName"] == "烽火平台"
    assert query["TemplateParam"] == '{"content": "紧急信息 请签收"}'
    if state == "dead":
        assert _last_attempt(sms).error_code == "http:400"
        assert "SignatureDoesNotMatch" in _last_attempt(sms).detail


def test_sms_without_a_configured_provider_is_a_dead_letter(org, settings):
    settings.FENGHUO_NOTIFY_SMS = {}
    person = org["people"]["county_duty"]
    services.set_person_chain(None, person, ["sms"])
    messages = services.notify_people([person], subject="紧急信息", body="请签收", key="k-none")
    _deliver()
    sms = _only(messages, Channel.SMS)
    assert (sms.state, _last_attempt(sms).error_code) == (State.DEAD, "config")


# -- e-mail ----------------------------------------------------------------------------


def test_email_over_smtp_with_a_message_id_from_the_key(org, smtp_peer):
    person = org["people"]["county_duty"]
    messages = services.notify_people(
        [person],
        subject="江口县化工园区发生爆炸",
        body="请及时签收。",
        key="report:7",
        link="/events/7/",
    )
    _deliver()
    email = _only(messages, Channel.EMAIL)
    assert email.state == State.DELIVERED, email.last_error
    [mail] = smtp_peer.messages
    assert mail["to"] == ["wang@jiangkou.gov.cn"]
    assert mail["subject"] == "江口县化工园区发生爆炸"
    assert mail["key"] == "report:7"
    assert "http://127.0.0.1:8000/events/7/" in mail["body"]
    assert mail["message_id"].endswith("@fenghuo.local>")
    assert _last_attempt(email).detail == mail["message_id"]


def test_email_to_a_server_that_is_down_is_refused_and_retried(org, settings):
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", free_port()
    person = org["people"]["county_reporter"]  # e-mail only: no fallback
    messages = services.notify_people([person], subject="测试", body="正文", key="k-down")
    _deliver()
    email = _only(messages, Channel.EMAIL)
    assert email.state == State.RETRYING
    assert _last_attempt(email).error_code == "refused"


def test_an_smtp_refusal_is_logged_with_its_code_and_the_sms_goes_meanwhile(
    org, smtp_peer, sms_gateway, make_person
):
    from fenghuo.org.models import Role

    person = make_person(
        "bounced",
        org["county"],
        Role.DUTY_OFFICER,
        email="nobody@jiangkou.gov.cn",
        mobile="13800000009",
    )
    services.notify_people([person], subject="请签收", body="正文", key="k-550")
    _deliver()
    email = Message.objects.get(person=person, channel=Channel.EMAIL)
    sms = Message.objects.get(person=person, channel=Channel.SMS)
    # 550 will not change by retrying: dead at once, and the fallback has started.
    assert (email.state, _last_attempt(email).error_code) == (State.DEAD, "smtp:550")
    assert sms.state == State.DELIVERED
    assert smtp_peer.messages == []


def test_a_peer_that_does_not_answer_in_time_is_a_timeout(org, http_peer, settings):
    settings.FENGHUO_NOTIFY_TIMEOUT_SECONDS = 0.3
    http_peer.sink.delay = 1.0
    make_endpoint(org["city"], Channel.WEBHOOK, f"{http_peer.url}/webhook", SECRETS["webhook"])
    [message] = _notify_city(org)
    _deliver()
    message.refresh_from_db()
    assert (message.state, _last_attempt(message).error_code) == (State.RETRYING, "timeout")
