# The attachment tests' cast and media folder, shared by the upload tests here.
from tests.events.test_attachments import _media, world  # noqa: F401
