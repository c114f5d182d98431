"""The start-up heap of web and worker processes is frozen out of full collections."""

import gc
import subprocess
import sys
import weakref


class _Node:
    pass


def test_settle_collects_the_garbage_then_freezes_the_rest():
    from fenghuo.core import heap

    gc.unfreeze()
    node = _Node()
    node.itself = node  # a cycle: only a collection frees it
    gone = weakref.ref(node)
    del node
    try:
        heap.settle()
        assert gc.get_freeze_count() > 0
        assert gone() is None  # collected first, not frozen
    finally:
        gc.unfreeze()


def test_the_asgi_application_settles_its_heap_at_import():
    code = (
        "import gc, os\n"
        "os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'fenghuo.settings')\n"
        "assert gc.get_freeze_count() == 0\n"
        "import fenghuo.asgi\n"
        "print(gc.get_freeze_count())\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert int(done.stdout.strip()) > 10_000  # Django and the apps, not a handful of objects
