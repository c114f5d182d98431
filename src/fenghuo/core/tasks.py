"""Background jobs of the shared kernel, run by `fenghuo worker` (django-tasks).

Every task here must be safe to run twice: a worker killed mid-task leaves it to be run
again, and a durable timer (`run_after`) may fire on two workers after a failover.
Return values are stored as JSON, so return plain dicts, lists, strings and numbers.
"""

import logging

from django_tasks import task

from fenghuo.core.selectors import verify_audit_chain
from fenghuo.core.services import audit_chain_pending

logger = logging.getLogger("fenghuo.tasks")


@task()
def verify_audit_chain_task() -> dict:
    """Walk the audit chain; the result says whether it is intact and where it first breaks."""
    audit_chain_pending()
    result = verify_audit_chain()
    if not result.ok:
        logger.error(
            "审计链在第 %s 条断开：%s（此前 %s 条校验通过）",
            result.broken_seq,
            result.reason,
            result.checked,
        )
    return {"ok": result.ok, "checked": result.checked, "broken_seq": result.broken_seq}
