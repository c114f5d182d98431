"""The REST API: one NinjaAPI, a router per app, OpenAPI docs at /api/docs."""

from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, RequestDataTooBig, ValidationError
from django.db import DataError
from django.http import Http404, HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt
from ninja import NinjaAPI, Schema
from ninja.errors import HttpError
from ninja.errors import ValidationError as RequestValidationError
from ninja.parser import Parser

from fenghuo.criteria.api import router as criteria_router
from fenghuo.events.api import router as events_router
from fenghuo.intake.api import router as intake_router
from fenghuo.org.api import router as org_router
from fenghuo.org.auth import API_AUTH


class ApiError(Schema):
    """Every error the API answers: a Chinese sentence, and messages per field."""

    detail: str
    errors: dict[str, list[str]] = {}


# Documented on every operation (see FenghuoAPI): can the body be read (400), who may call
# it (401), may they (403), does it exist for them (404), a replayed key (409, with an
# Idempotency-Key), too big (413), is the request right (422), too many requests (429).
ERROR_RESPONSES = {
    "400": "请求体无法解析（不是合法的 JSON 或表单）",
    "401": "未登录或接口令牌无效",
    "403": "无权执行此操作，或会话请求缺少 CSRF 令牌",
    "404": "不存在或无权查看",
    "409": "幂等键已用于不同的内容，或状态已改变",
    "413": "请求体过大",
    "422": "提交的内容有误（errors 按字段列出）",
    "429": "请求过于频繁（见 Retry-After）",
}


def _has_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_nul(item) for item in value)
    return False


class StrictParser(Parser):
    """Refuses with 422, before any code sees the request:
    - NUL anywhere: PostgreSQL text cannot hold it (psycopg raises ValueError), and no
      field needs one;
    - a single-valued parameter given more than once (`?state=a&state=b`): Django would
      quietly keep the last one, so the caller would not learn which was used."""

    def _checked(self, data: Any, where: str) -> Any:
        if _has_nul(data):
            raise RequestValidationError([{"loc": [where], "type": "nul", "msg": "nul"}])
        return data

    def parse_body(self, request: HttpRequest) -> Any:
        return self._checked(super().parse_body(request), "body")

    def parse_querydict(self, data: Any, list_fields: list[str], request: HttpRequest) -> Any:
        repeated = [key for key in data if key not in list_fields and len(data.getlist(key)) > 1]
        if repeated:
            raise RequestValidationError(
                [{"loc": ["query", key], "type": "repeated", "msg": "repeated"} for key in repeated]
            )
        return self._checked(super().parse_querydict(data, list_fields, request), "query")


NOT_FOUND = {"detail": ERROR_RESPONSES["404"], "errors": {}}


class FenghuoAPI(NinjaAPI):
    def get_openapi_schema(self, **kwargs: Any) -> Any:
        """Add the common error answers to every operation that does not name its own, so
        the spec documents every status the API can give (schemathesis checks it)."""
        schema = super().get_openapi_schema(**kwargs)
        schema.setdefault("components", {}).setdefault("schemas", {})["ApiError"] = (
            ApiError.model_json_schema(ref_template="#/components/schemas/{model}")
        )
        error = {"application/json": {"schema": {"$ref": "#/components/schemas/ApiError"}}}
        for operations in schema["paths"].values():
            for operation in operations.values():
                responses = operation.setdefault("responses", {})
                named = {str(status) for status in responses}  # ninja's keys are ints
                idempotent = any(
                    p.get("in") == "header" and p.get("name", "").lower() == "idempotency-key"
                    for p in operation.get("parameters", [])
                )
                for status, description in ERROR_RESPONSES.items():
                    if status in named or (status == "409" and not idempotent):
                        continue
                    responses[int(status)] = {"description": description, "content": error}
        return schema


api = FenghuoAPI(
    title="烽火 紧急信息报送与应急处置平台 API",
    version="1",
    description="单位接口令牌（Bearer）或登录会话均可调用；所有读取均按单位、角色和密级过滤。",
    auth=API_AUTH,
    urls_namespace="api",
    parser=StrictParser(),
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


# Pydantic's message kinds, in Chinese; anything else keeps pydantic's own sentence.
REQUEST_ERRORS = {
    "missing": "必填",
    "int_parsing": "应为整数",
    "int_type": "应为整数",
    "float_parsing": "应为数字",
    "float_type": "应为数字",
    "bool_parsing": "应为 true 或 false",
    "string_type": "应为文字",
    "datetime_parsing": "时间格式应为 2026-11-23T09:00:00+08:00",
    "datetime_from_date_parsing": "时间格式应为 2026-11-23T09:00:00+08:00",
    "date_from_datetime_parsing": "日期格式应为 2026-11-23",
    "date_parsing": "日期格式应为 2026-11-23",
    "greater_than_equal": "数值过小",
    "less_than_equal": "数值过大",
    "string_too_long": "内容过长",
    "string_too_short": "内容过短",
    "list_type": "应为列表",
    "dict_type": "应为对象",
    "model_attributes_type": "应为对象",
    "json_invalid": "不是合法的 JSON",
    "nul": "不能包含空字符（\\x00）",
    "repeated": "只能给出一次",
    "enum": "不是可选的值",
    "literal_error": "不是可选的值",
}


def _field(loc: list[Any]) -> str:
    """("body", "payload", "dead") → "dead"; ("query", "event_id") → "event_id"."""
    parts = [str(part) for part in loc]
    if parts and parts[0] in {"body", "form", "file"} and len(parts) > 2:
        parts = parts[2:]
    elif len(parts) > 1:
        parts = parts[1:]
    return ".".join(parts) or "__all__"


@api.exception_handler(RequestValidationError)
def request_error(request: HttpRequest, exc: RequestValidationError) -> HttpResponse:
    errors: dict[str, list[str]] = {}
    for item in exc.errors:
        message = REQUEST_ERRORS.get(item.get("type", ""), item.get("msg", "无效"))
        errors.setdefault(_field(item.get("loc", [])), []).append(message)
    return api.create_response(request, {"detail": "提交的内容有误", "errors": errors}, status=422)


@api.exception_handler(HttpError)
def http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    """Ninja's own refusals (401 and the session's CSRF 403 among them), in the one shape."""
    message = {401: ERROR_RESPONSES["401"], 403: "无权执行此操作"}.get(exc.status_code)
    detail = message if message and str(exc) in {"Unauthorized", "Forbidden"} else str(exc)
    return api.create_response(request, {"detail": detail, "errors": {}}, status=exc.status_code)


@api.exception_handler(OverflowError)
@api.exception_handler(DataError)
def out_of_range(request: HttpRequest, exc: Exception) -> HttpResponse:
    """A number past what the database holds (an id of 30 digits): SQLite raises
    OverflowError, PostgreSQL a DataError. Either way the request is wrong, not the server."""
    return api.create_response(
        request, {"detail": "提交的内容有误", "errors": {"__all__": ["数值超出范围"]}}, status=422
    )


@api.exception_handler(RequestDataTooBig)
def too_big(request: HttpRequest, exc: RequestDataTooBig) -> HttpResponse:
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE // 1024 // 1024
    message = f"请求体超过 {limit} MB（附件请用 multipart 上传）"
    return api.create_response(request, {"detail": message, "errors": {}}, status=413)


@api.exception_handler(Http404)
def not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
    return api.create_response(
        request, {"detail": ERROR_RESPONSES["404"], "errors": {}}, status=404
    )


@csrf_exempt  # like the operations: nothing here acts on a session
def unknown_path(request: HttpRequest) -> HttpResponse:
    """Under /api/ an address no operation matches (a malformed id) answers JSON too."""
    return api.create_response(
        request, {"detail": ERROR_RESPONSES["404"], "errors": {}}, status=404
    )


@api.exception_handler(PermissionDenied)
def permission_denied(request: HttpRequest, exc: PermissionDenied) -> HttpResponse:
    message = str(exc) or "无权执行此操作"
    return api.create_response(request, {"detail": message, "errors": {}}, status=403)
