"""Admin: received e-mail and import batches, read-only (they change through services)."""

from django.contrib import admin

from fenghuo.core.admin import ReadOnlyAdmin
from fenghuo.intake.models import ImportBatch, InboundMessage


@admin.register(InboundMessage)
class InboundMessageAdmin(ReadOnlyAdmin):
    list_display = ("received_at", "from_header", "subject", "unit", "state", "sender_known")
    list_filter = ("state", "sender_known")
    search_fields = ("subject", "from_address", "from_name", "message_id")
    exclude = ("raw",)


@admin.register(ImportBatch)
class ImportBatchAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "filename", "unit", "imported", "skipped", "created_by")
    search_fields = ("filename", "content_hash")
