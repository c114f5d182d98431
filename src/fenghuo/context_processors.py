"""Values every template may use."""

from django.conf import settings
from django.http import HttpRequest


def public_site(request: HttpRequest) -> dict[str, str]:
    return {"public_site_name": settings.FENGHUO_PUBLIC_SITE_NAME}
