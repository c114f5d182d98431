"""Admin: a unit's endpoints (group robots, webhooks) with a "发送测试消息" action, people's
channel order, and the outbox itself (read-only, with each message's delivery log)."""

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest

from fenghuo.core.admin import AuditedAdminMixin, ReadOnlyAdmin
from fenghuo.notify import services
from fenghuo.notify.models import DeliveryAttempt, Endpoint, Message, PersonChain
from fenghuo.org.admin import PolicyScopedAdmin


class EndpointForm(forms.ModelForm):
    url = forms.URLField(label="地址", max_length=500, assume_scheme="https")

    class Meta:
        model = Endpoint
        fields = ("kind", "name", "unit", "url", "secret", "is_active")
        # The secret is write-only: shown once when typed, never sent back to the page.
        widgets = {"secret": forms.PasswordInput(render_value=True)}


@admin.register(Endpoint)
class EndpointAdmin(PolicyScopedAdmin):
    """Saved through services.save_endpoint rather than AuditedAdminMixin, so the audit
    trail records that the secret changed but never the secret itself."""

    form = EndpointForm
    list_display = ("name", "kind", "unit", "url", "is_active")
    list_filter = ("kind", "is_active")
    search_fields = ("name", "url", "unit__name")
    actions = ["send_test_message"]

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        if not self._may(request, obj):
            raise PermissionDenied("无权管理该单位")
        services.save_endpoint(request.user, obj)

    def delete_model(self, request: HttpRequest, obj: Any) -> None:
        services.delete_endpoint(request.user, obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet) -> None:
        for obj in queryset:
            self.delete_model(request, obj)

    @admin.action(description="发送测试消息")
    def send_test_message(self, request: HttpRequest, queryset: QuerySet) -> None:
        for endpoint in queryset:
            message = services.send_test(request.user, endpoint)
            self.message_user(
                request,
                f"已向“{endpoint.name}”排队发送测试消息（消息 {message.pk}），"
                "稍后可在“通知消息”中查看投递结果。",
                messages.SUCCESS,
            )


class PersonChainForm(forms.ModelForm):
    class Meta:
        model = PersonChain
        fields = ("person", "channels")

    def clean_channels(self) -> list[str]:
        channels = self.cleaned_data["channels"]
        try:
            services.validate_chain(channels)
        except ValidationError as exc:
            raise ValidationError(exc.message_dict["channels"]) from exc
        return channels


@admin.register(PersonChain)
class PersonChainAdmin(AuditedAdminMixin, PolicyScopedAdmin):
    form = PersonChainForm
    unit_path = "person__unit"
    unit_fields = ()
    list_display = ("person", "channels")
    search_fields = ("person__full_name", "person__username")
    autocomplete_fields = ("person",)


class DeliveryAttemptInline(admin.TabularInline):
    model = DeliveryAttempt
    extra = 0
    can_delete = False
    fields = readonly_fields = ("at", "transport", "outcome", "error_code", "detail", "duration_ms")

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Message)
class MessageAdmin(ReadOnlyAdmin):
    list_display = (
        "pk",
        "created_at",
        "channel",
        "recipient_label",
        "subject",
        "state",
        "attempts",
    )
    list_filter = ("state", "channel", "urgent", "is_drill")
    search_fields = ("key", "ref", "subject", "address")
    inlines = [DeliveryAttemptInline]
