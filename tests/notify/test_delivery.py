"""The outbox: idempotent enqueueing in the caller's transaction, retries with backoff on
the controllable clock, fallback to a person's next channel, dead letters, lease expiry,
and two dispatchers in parallel on PostgreSQL."""

from datetime import timedelta

import pytest
from django.db import transaction

from fenghuo.core import clock
from fenghuo.notify import dispatch, selectors, services
from fenghuo.notify.models import Channel, DeliveryAttempt, Message, State
from tests.notify.conftest import SECRETS, make_endpoint
from tests.processes import uses_postgres
from tests.threads import at_once

T0 = clock.now().replace(microsecond=0)


def _deliver() -> int:
    return dispatch.Dispatcher(threads=2).drain()


def _log(message: Message) -> list[tuple[str, str]]:
    return [
        (a.outcome, a.error_code)
        for a in DeliveryAttempt.objects.filter(message=message).order_by("pk")
    ]


@pytest.fixture
def webhook(org, http_peer):
    return make_endpoint(
        org["city"], Channel.WEBHOOK, f"{http_peer.url}/webhook", SECRETS["webhook"]
    )


# -- enqueueing --------------------------------------------------------------------------


@pytest.mark.django_db
def test_notify_people_makes_an_inapp_and_the_first_external_message(org):
    duty, nobody = org["people"]["county_duty"], org["people"]["no_address"]
    messages = services.notify_people(
        [duty, nobody], subject="请签收", body="江口县报告爆炸", key="report:1", ref="report:1"
    )
    assert sorted((m.person.username, m.channel, m.state) for m in messages) == [
        ("county_duty", "email", "pending"),
        ("county_duty", "inapp", "delivered"),
        ("no_address", "inapp", "delivered"),
    ]
    email = next(m for m in messages if m.channel == Channel.EMAIL)
    assert (email.address, email.unit, email.ref) == (
        "wang@jiangkou.gov.cn",
        org["county"],
        "report:1",
    )


@pytest.mark.django_db
def test_notify_people_is_idempotent_by_key(org):
    people = [org["people"]["county_duty"], org["people"]["city_duty"]]
    first = services.notify_people(people, subject="请签收", body="正文", key="report:1")
    again = services.notify_people(people, subject="请签收（重试）", body="正文", key="report:1")
    assert [m.pk for m in again] == [m.pk for m in first]
    assert Message.objects.count() == 4
    assert Message.objects.filter(subject="请签收（重试）").count() == 0
    other = services.notify_people(people, subject="请签收", body="正文", key="report:2")
    assert Message.objects.count() == 8 and {m.key for m in other} == {"report:2"}


@pytest.mark.django_db
def test_notify_unit_goes_to_its_active_endpoints_once_per_key(org, webhook):
    make_endpoint(org["city"], Channel.WECOM_ROBOT, "http://127.0.0.1:9/wecom?key=x")
    inactive = make_endpoint(org["city"], Channel.WEBHOOK, "http://127.0.0.1:9/off")
    inactive.is_active = False
    services.save_endpoint(None, inactive)
    make_endpoint(org["county"], Channel.WEBHOOK, "http://127.0.0.1:9/county")
    first = services.notify_unit(org["city"], subject="请签收", body="正文", key="k1")
    assert sorted(m.channel for m in first) == ["webhook", "wecom_robot"]
    assert {m.endpoint.unit for m in first} == {org["city"]}
    again = services.notify_unit(org["city"], subject="请签收", body="正文", key="k1")
    assert sorted(m.pk for m in again) == sorted(m.pk for m in first)
    assert services.notify_unit(org["other"], subject="请签收", body="正文", key="k1") == []


@pytest.mark.django_db
def test_the_outbox_rolls_back_with_the_callers_transaction(org, webhook):
    with pytest.raises(RuntimeError), transaction.atomic():
        services.notify_people([org["people"]["county_duty"]], subject="s", body="b", key="k")
        services.notify_unit(org["city"], subject="s", body="b", key="k")
        raise RuntimeError("the report was not saved")
    assert not Message.objects.exists()


@pytest.mark.django_db
def test_a_drill_is_marked_and_a_personal_chain_is_followed(org):
    person = org["people"]["county_duty"]
    services.set_person_chain(None, person, ["sms", "email"])
    messages = services.notify_people(
        [person], subject="化工园区爆炸", body="演练脚本第 1 条", key="drill:1", is_drill=True
    )
    assert {(m.channel, m.subject, m.is_drill) for m in messages} == {
        ("inapp", "【演练】化工园区爆炸", True),
        ("sms", "【演练】化工园区爆炸", True),
    }


@pytest.mark.django_db
def test_a_chain_with_an_unknown_channel_is_refused(org):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError) as error:
        services.set_person_chain(None, org["people"]["county_duty"], ["email", "fax"])
    assert "channels" in error.value.message_dict


# -- retries, fallback, dead letters ----------------------------------------------------


@pytest.mark.django_db
def test_retries_back_off_exponentially_until_delivered(org, webhook, http_peer, fast_retries):
    http_peer.sink.fail_next["webhook"] = 2
    with clock.frozen_at(T0):
        [message] = services.notify_unit(org["city"], subject="请签收", body="正文", key="k")
        _deliver()
        message.refresh_from_db()
        assert (message.state, message.attempts) == (State.RETRYING, 1)
        assert message.next_attempt_at == T0 + timedelta(seconds=10)

        clock.advance(timedelta(seconds=9))
        _deliver()
        assert http_peer.sink.count("webhook") == 1  # not due yet
        clock.advance(timedelta(seconds=1))
        _deliver()
        message.refresh_from_db()
        assert message.next_attempt_at == T0 + timedelta(seconds=10 + 20)

        clock.advance(timedelta(seconds=20))
        _deliver()
        message.refresh_from_db()
    assert (message.state, message.attempts, message.last_error) == (State.DELIVERED, 3, "")
    assert _log(message) == [("failed", "http:503"), ("failed", "http:503"), ("delivered", "")]


@pytest.mark.django_db
def test_after_the_last_attempt_a_dead_letter(org, webhook, http_peer, fast_retries, principal_of):
    http_peer.sink.fail_next["webhook"] = 100
    with clock.frozen_at(T0):
        [message] = services.notify_unit(org["city"], subject="请签收", body="正文", key="k")
        for _ in range(6):
            _deliver()
            clock.advance(timedelta(seconds=60))
    message.refresh_from_db()
    assert (message.state, message.attempts) == (State.DEAD, 4)
    assert message.last_error.startswith("http:503")
    assert http_peer.sink.count("webhook") == 4
    assert list(selectors.dead_letters(principal_of(org["people"]["city_duty"]))) == [message]


@pytest.mark.django_db
def test_smtp_down_falls_back_to_sms_and_mail_arrives_when_it_is_back(
    org, smtp_peer, sms_gateway, fast_retries
):
    """The issue's check: the SMTP server is down for a while; with the fallback configured
    the SMS sink gets the message meanwhile, and the mail is delivered after it comes back."""
    person = org["people"]["county_duty"]  # chain: e-mail, then SMS
    smtp_peer.stop()
    with clock.frozen_at(T0):
        services.notify_people([person], subject="江口县爆炸", body="请签收", key="report:9")
        _deliver()
        email = Message.objects.get(channel=Channel.EMAIL)
        sms = Message.objects.get(channel=Channel.SMS)
        assert (email.state, _log(email)) == (State.RETRYING, [("failed", "refused")])
        assert (sms.state, sms.key, sms.address) == (State.DELIVERED, "report:9", "13800000001")
        assert sms_gateway.sink.bodies("sms")[0].json()["message"] == "江口县爆炸：请签收"
        assert smtp_peer.messages == []

        smtp_peer.start()
        clock.advance(timedelta(seconds=10))
        _deliver()
    email.refresh_from_db()
    assert email.state == State.DELIVERED
    assert [m["key"] for m in smtp_peer.messages] == ["report:9"]
    # The fallback is started once, by the first failure only.
    assert Message.objects.filter(channel=Channel.SMS).count() == 1


@pytest.mark.django_db
def test_the_last_channels_death_is_a_dead_letter(org, settings, fast_retries, principal_of):
    from tests.processes import free_port

    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", free_port()  # nothing listens
    settings.FENGHUO_NOTIFY_SMS = {}
    person = org["people"]["county_duty"]  # e-mail fails, then SMS is not configured
    with clock.frozen_at(T0):
        services.notify_people([person], subject="请签收", body="正文", key="k")
        for _ in range(6):
            _deliver()
            clock.advance(timedelta(seconds=60))
    email = Message.objects.get(channel=Channel.EMAIL)
    sms = Message.objects.get(channel=Channel.SMS)
    assert (email.state, email.attempts) == (State.DEAD, 4)
    assert (sms.state, sms.attempts, sms.last_error.split()[0]) == (State.DEAD, 1, "config")
    seen = selectors.dead_letters(principal_of(org["people"]["county_duty"]))
    assert set(seen) == {email, sms}


@pytest.mark.django_db
def test_an_expired_lease_makes_a_message_due_again(org, webhook, http_peer, settings):
    """A worker that claimed a message and died: the claim stays until its lease expires."""
    settings.FENGHUO_NOTIFY_LEASE_SECONDS = 30
    with clock.frozen_at(T0):
        [message] = services.notify_unit(org["city"], subject="请签收", body="正文", key="k")
        [dead_workers_claim] = services.claim_due([Channel.WEBHOOK], 10)
        _deliver()
        assert http_peer.sink.count("webhook") == 0  # still leased
        clock.advance(timedelta(seconds=31))
        _deliver()
        message.refresh_from_db()
        assert (message.state, message.attempts) == (State.DELIVERED, 2)
        # The old worker's late answer changes nothing but the log.
        late = services.Result(
            ok=False, transport="Webhook", started_at=T0, duration_ms=1, code="timeout"
        )
        assert services.record_results([(dead_workers_claim, late)]) == [None]
    message.refresh_from_db()
    assert message.state == State.DELIVERED
    assert http_peer.sink.accepted_keys == {"k": 1}


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
@pytest.mark.skipif(not uses_postgres(), reason="row locks with SKIP LOCKED are PostgreSQL's")
def test_two_dispatchers_in_parallel_never_send_one_message_twice(org, webhook, http_peer):
    for n in range(200):
        services.notify_unit(org["city"], subject=f"第 {n} 条", body="正文", key=f"k{n}")
    at_once(lambda: dispatch.Dispatcher(threads=4).drain(timeout=120), 2, timeout=180)
    assert http_peer.sink.count("webhook") == 200
    assert http_peer.sink.duplicates == 0 and len(http_peer.sink.accepted_keys) == 200
    assert Message.objects.filter(state=State.DELIVERED, attempts=1).count() == 200
