"""The REST API: one NinjaAPI, a router per app, OpenAPI docs at /api/docs."""

from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from ninja import NinjaAPI

from fenghuo.criteria.api import router as criteria_router
from fenghuo.events.api import router as events_router
from fenghuo.intake.api import router as intake_router
from fenghuo.org.api import router as org_router
from fenghuo.org.auth import API_AUTH

api = NinjaAPI(
    title="烽火 紧急信息报送与应急处置平台 API",
    version="1",
    description="单位接口令牌（Bearer）或登录会话均可调用；所有读取均按单位、角色和密级过滤。",
    auth=API_AUTH,
    urls_namespace="api",
)
api.add_router("/org/", org_router)
api.add_router("/", intake_router)
api.add_router("/", events_router)
api.add_router("/", "fenghuo.events.search_api.router")
api.add_router("/", criteria_router)
api.add_router("/notify/", "fenghuo.notify.api.router")
api.add_router("/", "fenghuo.escalation.api.router")
api.add_router("/", "fenghuo.alerts.api.router")
api.add_router("/", "fenghuo.response.api.router")
api.add_router("/", "fenghuo.release.api.router")
api.add_router("/", "fenghuo.opinion.api.router")
api.add_router("/", "fenghuo.assess.api.router")
api.add_router("/drills/", "fenghuo.drills.api.router")


@api.exception_handler(ValidationError)
def validation_error(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    errors = exc.message_dict if hasattr(exc, "error_dict") else {"__all__": exc.messages}
    return api.create_response(request, {"detail": "提交的内容有误", "errors": errors}, status=422)


@api.exception_handler(PermissionDenied)
def permission_denied(request: HttpRequest, exc: PermissionDenied) -> HttpResponse:
    message = str(exc) or "无权执行此操作"
    return api.create_response(request, {"detail": message, "errors": {}}, status=403)
