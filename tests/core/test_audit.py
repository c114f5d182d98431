"""The audit chain: every service write appends a linked entry, and tampering behind the
application's back (raw SQL) is found by `verify_audit`, which names the broken entry."""

import threading
from datetime import timedelta
from io import StringIO

import pytest
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection, transaction

from fenghuo.core import clock
from fenghuo.core.audit import GENESIS_HASH, entry_hash
from fenghuo.core.models import AuditEntry, AuditHead
from fenghuo.core.selectors import verify_audit_chain
from fenghuo.core.services import audit_chain_pending, audit_record
from fenghuo.org import services
from fenghuo.org.models import ApiToken, DutyShift, Membership, Role, UnitKind
from tests.processes import migrated_site_fixture, poll, site_fixture, uses_postgres  # noqa: F401

pytestmark = pytest.mark.django_db


def head() -> tuple[int, str]:
    row = AuditHead.objects.filter(pk=1).first()
    return (row.seq, row.hash) if row else (0, GENESIS_HASH)


def last_entry() -> AuditEntry:
    return AuditEntry.objects.order_by("-seq").first()


def verify() -> str:
    out = StringIO()
    call_command("verify_audit", stdout=out)
    return out.getvalue()


def raw(sql: str, params: list) -> None:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


@pytest.fixture
def org(make_unit, make_person, system):
    """A city with a county below it, an administrator and two duty officers."""
    city = make_unit("审计市", is_receiving_office=True)
    county = make_unit("审计县", city)
    admin = make_person("audit_admin", city, Role.ADMIN, password=None)
    officer = make_person("audit_officer", city, Role.DUTY_OFFICER, password=None)
    backup = make_person("audit_backup", city, Role.DUTY_OFFICER, password=None)
    return {"city": city, "county": county, "admin": admin, "officer": officer, "backup": backup}


@pytest.fixture
def chain(org, system):
    """A chain of a dozen entries or so, from the fixtures and a few more writes."""
    for i in range(3):
        services.token_issue(system, unit=org["county"], name=f"接口{i}")
    n = AuditEntry.objects.count()
    assert n >= 10
    return n


def _start():
    return clock.now().replace(microsecond=0) + timedelta(days=1)


WRITES = {
    "unit_create": lambda o, p: (
        services.unit_create(
            p,
            parent=o["city"],
            name="新设乡",
            level="township",
            kind=UnitKind.objects.get(code="township"),
            division_code="990999",
        ),
        "org.unit.create",
        "org.unit",
    ),
    "unit_update": lambda o, p: (
        services.unit_update(p, o["county"], phone="0571-12345678"),
        "org.unit.update",
        "org.unit",
    ),
    "person_create": lambda o, p: (
        services.person_create(
            p, username="newcomer", full_name="新人", unit=o["county"], password="pw-Xyz-98765"
        ),
        "org.person.create",
        "org.person",
    ),
    "membership_grant": lambda o, p: (
        services.membership_grant(p, person=o["officer"], unit=o["county"], role=Role.REPORTER),
        "org.membership.grant",
        "org.membership",
    ),
    "token_issue": lambda o, p: (
        services.token_issue(p, unit=o["county"], name="县接口")[0],
        "org.token.issue",
        "org.apitoken",
    ),
    "token_revoke": lambda o, p: (
        services.token_revoke(p, ApiToken.objects.get(unit=o["county"])),
        "org.token.revoke",
        "org.apitoken",
    ),
    "shift_create": lambda o, p: (
        services.shift_create(
            p,
            office=o["city"],
            starts_at=_start(),
            ends_at=_start() + timedelta(hours=8),
            primary=o["officer"],
            backup=o["backup"],
        ),
        "org.shift.create",
        "org.dutyshift",
    ),
}


@pytest.mark.parametrize("write", list(WRITES))
def test_every_service_write_appends_one_chained_entry(org, system, principal_of, write):
    if write == "token_revoke":
        services.token_issue(system, unit=org["county"], name="待吊销")
    actor = principal_of(org["admin"])  # a real person, so the entry names them
    count_before, (seq_before, hash_before) = AuditEntry.objects.count(), head()

    obj, action, object_type = WRITES[write](org, actor)

    assert AuditEntry.objects.count() == count_before + 1
    entry = last_entry()
    assert (entry.seq, entry.prev_hash) == (seq_before + 1, hash_before)
    assert head() == (entry.seq, entry.hash) and entry.hash != hash_before
    assert (entry.action, entry.object_type, entry.object_id) == (action, object_type, str(obj.pk))
    assert (entry.actor_id, entry.actor_name) == (str(org["admin"].pk), "audit_admin")
    assert entry.after["id"] == obj.pk
    assert "password" not in entry.after  # secrets never enter the trail
    assert verify_audit_chain().ok


def test_update_entries_keep_before_and_after(org, system):
    services.unit_update(system, org["county"], phone="0571-87654321")
    entry = last_entry()
    assert entry.before["phone"] == "" and entry.after["phone"] == "0571-87654321"


def test_membership_revoke_is_recorded_with_what_was_removed(org, system):
    membership = Membership.objects.get(person=org["officer"], role=Role.DUTY_OFFICER)
    services.membership_revoke(system, membership)
    entry = last_entry()
    assert entry.action == "org.membership.revoke"
    assert entry.before["role"] == Role.DUTY_OFFICER and entry.after is None


def test_verify_passes_on_a_clean_chain(chain):
    out = verify()
    assert "审计链完好" in out and f"共 {chain} 条" in out
    assert verify_audit_chain().checked == chain


def test_verify_passes_on_an_empty_chain():
    assert AuditEntry.objects.count() == 0
    result = verify_audit_chain()
    assert result.ok and result.checked == 0


@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("after", '{"name": "篡改后的内容"}'),
        ("before", '{"role": "admin"}'),
        ("actor_name", "别人"),
        ("action", "org.unit.delete"),
        ("object_id", "999999"),
    ],
)
def test_an_entry_edited_with_raw_sql_is_found(chain, column, value):
    seq = chain // 2
    if column in ("after", "before") and connection.vendor == "postgresql":
        raw(f"UPDATE core_auditentry SET {column} = %s::jsonb WHERE seq = %s", [value, seq])
    else:
        raw(f"UPDATE core_auditentry SET {column} = %s WHERE seq = %s", [value, seq])
    with pytest.raises(CommandError, match=rf"第 {seq} 条断开.*被修改"):
        verify()
    result = verify_audit_chain()
    assert (result.ok, result.broken_seq, result.checked) == (False, seq, seq - 1)


def test_an_edited_entry_with_its_hash_recomputed_breaks_the_next_link(chain):
    """Rewriting one entry and its own hash still leaves the next entry pointing at the old one."""
    seq = chain // 2
    entry = AuditEntry.objects.get(seq=seq)
    forged = entry_hash(
        prev_hash=entry.prev_hash,
        seq=entry.seq,
        at=entry.at,
        actor_id=entry.actor_id,
        actor_name="别人",
        action=entry.action,
        object_type=entry.object_type,
        object_id=entry.object_id,
        before=entry.before,
        after=entry.after,
    )
    raw(
        "UPDATE core_auditentry SET actor_name = %s, hash = %s WHERE seq = %s",
        ["别人", forged, seq],
    )
    with pytest.raises(CommandError, match=rf"第 {seq + 1} 条断开.*哈希链接"):
        verify()


def test_a_deleted_middle_entry_is_found(chain):
    seq = chain // 2
    raw("DELETE FROM core_auditentry WHERE seq = %s", [seq])
    with pytest.raises(CommandError, match=rf"第 {seq} 条断开.*缺少序号 {seq}"):
        verify()


def test_a_truncated_tail_is_found(chain):
    raw("DELETE FROM core_auditentry WHERE seq = %s", [chain])
    with pytest.raises(CommandError, match=rf"第 {chain} 条断开.*链头记录到序号 {chain}"):
        verify()
    assert verify_audit_chain().checked == chain - 1


def test_swapped_entries_are_found(chain):
    """Two entries exchanging sequence numbers (a reordering) break the chain."""
    a, b = chain // 2, chain // 2 + 1
    raw("UPDATE core_auditentry SET seq = %s WHERE seq = %s", [-1, a])
    raw("UPDATE core_auditentry SET seq = %s WHERE seq = %s", [a, b])
    raw("UPDATE core_auditentry SET seq = %s WHERE seq = %s", [b, -1])
    with pytest.raises(CommandError, match=rf"第 {a} 条断开"):
        verify()


def test_a_rolled_back_transaction_leaves_no_entry(org, system):
    count_before, head_before = AuditEntry.objects.count(), head()
    with pytest.raises(RuntimeError), transaction.atomic():
        services.unit_create(
            system,
            parent=org["city"],
            name="撤回乡",
            level="township",
            kind=UnitKind.objects.get(code="township"),
            division_code="990998",
        )
        assert AuditEntry.objects.count() == count_before + 1  # it was written, then…
        raise RuntimeError("后续步骤失败")
    assert AuditEntry.objects.count() == count_before
    assert head() == head_before
    # The next write continues the chain from where it really stands.
    services.token_issue(system, unit=org["city"], name="之后")
    assert last_entry().seq == head_before[0] + 1
    assert verify_audit_chain().ok


def test_a_write_refused_by_validation_leaves_no_entry(org, system):
    start = _start()
    services.shift_create(
        system,
        office=org["city"],
        starts_at=start,
        ends_at=start + timedelta(hours=8),
        primary=org["officer"],
    )
    count_before, head_before = AuditEntry.objects.count(), head()
    with pytest.raises(ValidationError):
        services.shift_create(
            system,
            office=org["city"],
            starts_at=start + timedelta(hours=4),
            ends_at=start + timedelta(hours=12),
            primary=org["backup"],
        )
    assert DutyShift.objects.count() == 1
    assert (AuditEntry.objects.count(), head()) == (count_before, head_before)


def test_entries_refuse_update_and_delete(chain):
    """The per-row guards. (QuerySet.update()/delete() still bypass them, like raw SQL;
    verify_audit is what catches that.)"""
    entry = AuditEntry.objects.get(seq=2)
    entry.actor_name = "别人"
    with pytest.raises(RuntimeError):
        entry.save()
    with pytest.raises(RuntimeError):
        entry.delete()
    assert AuditEntry.objects.get(seq=2).actor_name != "别人"
    assert AuditEntry.objects.count() == chain
    assert verify_audit_chain().ok


def test_entries_may_still_be_appended_directly(system):
    """The guard is on changing entries, not on creating them (audit_record creates)."""
    entry = audit_record(actor=system, action="test.append", object_type="test", object_id=1)
    assert entry.seq == 1 and entry.prev_hash == GENESIS_HASH and entry.actor_name == "测试系统"
    assert verify_audit_chain().ok


# -- entries written while another transaction holds the head ---------------------------


def _unlinked(n: int) -> list[AuditEntry]:
    """Entries as a writer leaves them when the head is taken: committed, not linked yet."""
    return [
        AuditEntry.objects.create(
            at=clock.now(), action="test.unlinked", object_type="test", object_id=str(i)
        )
        for i in range(n)
    ]


def test_unlinked_entries_are_counted_then_linked_in_order(chain):
    written = _unlinked(3)
    assert [e.seq for e in written] == [None] * 3
    result = verify_audit_chain()
    assert (result.ok, result.checked, result.unlinked) == (True, chain, 3)

    assert audit_chain_pending() == 3
    assert [AuditEntry.objects.get(pk=e.pk).seq for e in written] == [
        chain + 1,
        chain + 2,
        chain + 3,
    ]
    assert head() == (chain + 3, last_entry().hash)
    result = verify_audit_chain()
    assert (result.ok, result.checked, result.unlinked) == (True, chain + 3, 0)
    assert audit_chain_pending() == 0


def test_linking_goes_on_past_one_batch(chain):
    _unlinked(7)
    assert audit_chain_pending(batch_size=3) == 7
    assert verify_audit_chain().checked == chain + 7


def test_verify_audit_links_what_is_pending_before_checking(chain):
    _unlinked(2)
    assert f"共 {chain + 2} 条" in verify()


def test_a_linked_entry_edited_after_linking_is_found(chain):
    (entry,) = _unlinked(1)
    audit_chain_pending()
    raw("UPDATE core_auditentry SET action = %s WHERE id = %s", ["org.unit.delete", entry.pk])
    result = verify_audit_chain()
    assert (result.ok, result.broken_seq) == (False, chain + 1)


def test_the_worker_runs_the_linking_loop():
    assert settings.FENGHUO_WORKER_LOOPS["fenghuo.core.services:audit_chain_pending"] <= 1.0


@pytest.mark.skipif(not uses_postgres(), reason="row locks between connections: PostgreSQL")
@pytest.mark.django_db(transaction=True, serialized_rollback=True)  # as every such test here
def test_a_writer_does_not_wait_for_a_transaction_holding_the_head():
    """Before, the second writer queued on the head row until the first committed, so
    every writing transaction ran one after another."""
    AuditHead.objects.get_or_create(pk=1, defaults={"seq": 0, "hash": GENESIS_HASH})
    holding, release = threading.Event(), threading.Event()

    def first_writer() -> None:
        try:
            with transaction.atomic():
                audit_record(actor=None, action="test.first", object_type="test", object_id=1)
                holding.set()
                release.wait(30)
        finally:
            connection.close()

    thread = threading.Thread(target=first_writer)
    thread.start()
    try:
        assert holding.wait(30)
        with transaction.atomic():
            raw("SET LOCAL lock_timeout = '3s'", [])  # waiting would fail, not hang
            second = audit_record(actor=None, action="test.second", object_type="test", object_id=2)
        assert second.seq is None and second.hash == ""
    finally:
        release.set()
        thread.join(30)

    first = AuditEntry.objects.get(action="test.first")
    assert (first.seq, first.prev_hash) == (1, GENESIS_HASH)
    assert verify_audit_chain().unlinked == 1
    assert audit_chain_pending() == 1
    second.refresh_from_db()
    assert (second.seq, second.prev_hash) == (2, first.hash)
    result = verify_audit_chain()
    assert (result.ok, result.checked, result.unlinked) == (True, 2, 0)


def test_a_real_worker_links_entries_left_unlinked(migrated_site):
    migrated_site.django(
        "from fenghuo.core import clock\n"
        "from fenghuo.core.models import AuditEntry\n"
        "for n in range(5):\n"
        "    AuditEntry.objects.create(at=clock.now(), action='t', object_type='t', object_id=n)\n"
    )
    unlinked = (
        "from fenghuo.core.selectors import verify_audit_chain\n"
        "r = verify_audit_chain()\n"
        "result = [r.ok, r.unlinked]"
    )
    assert migrated_site.django(unlinked)[1] == 5
    migrated_site.start("worker", FENGHUO_WORKER_INTERVAL="0.1")  # the site stops it
    poll(lambda: migrated_site.django(unlinked) == [True, 0], "the worker to link them")
