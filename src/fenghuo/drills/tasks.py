"""The drills' worker loop (registered in settings.FENGHUO_WORKER_LOOPS).

`advance_drills` makes every running drill's due injections and ends the drills whose
time is up. Its state is the rows (each injection's due and done times), so a restarted
worker resumes every drill where it stood: what fell due while it was down is injected
at once, at the moment it is actually made, and the drill's clock never stopped.
"""

from fenghuo.drills import services


def advance_drills() -> int:
    return services.advance_all()
