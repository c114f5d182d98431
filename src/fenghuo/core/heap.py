"""What a long-running process (web, worker) does with its start-up heap.

Everything a process allocates while starting — Django, every app's modules, URL
patterns, dictionaries — lives as long as the process. CPython's full (generation 2)
collections walk all of it anyway, each time the heap has grown by a quarter, which in the
opinion pipeline was ~5 % of its time (bench/opinion). `settle()` collects once and moves
what survives to the permanent generation (`gc.freeze`), which collections skip: the same
objects, never freed anyway, just no longer scanned. Called once at the end of start-up by
`fenghuo.asgi` and the worker command.
"""

import gc


def settle() -> None:
    """Collect the start-up garbage, then freeze what is left out of future collections."""
    gc.collect()
    gc.freeze()
