"""The assess loop, run by `fenghuo worker`
(`FENGHUO_WORKER_LOOPS["fenghuo.assess.tasks:assess_due"]`).

One step does, each in its own transactions with row locks (SKIP LOCKED on PostgreSQL, so
parallel workers share the rows; SQLite's single writer serialises): area duties past
their deadline become missed reports (漏报); obligations that went late or missed join
their cases; overdue inquiry letters are chased; queued events are analysed for patterns.
The rows are the state: a step that runs twice changes nothing more, a killed worker's
batch is taken again.
"""

from fenghuo.assess import services


def assess_due() -> int:
    """One step of every assess loop; how many rows it handled."""
    return (
        services.check_due_duties()
        + services.open_obligation_cases()
        + services.chase_letters()
        + services.analyse_patterns()
    )
