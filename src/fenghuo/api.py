"""The REST API: one NinjaAPI, a router per app, OpenAPI docs at /api/docs."""

from ninja import NinjaAPI

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
