from django.conf import settings
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.http import HttpRequest, HttpResponse
from django.urls import include, path, re_path
from django.views.generic import RedirectView

from fenghuo import public
from fenghuo.api import api, unknown_path
from fenghuo.criteria import views as criteria_views
from fenghuo.desk import views as desk_views
from fenghuo.events import views as event_views
from fenghuo.intake import views as intake_views
from fenghuo.org import views as org_views

admin.site.site_header = "烽火 · 系统管理"
admin.site.site_title = "烽火管理"
admin.site.index_title = "管理"


# A lost database connection answers 503 + Retry-After, anything else 500 (ops/views.py).
handler500 = "fenghuo.ops.views.server_error"

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="duty-desk", permanent=False)),
    path("login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("desk/", desk_views.duty_desk, name="duty-desk"),
    path("desk/stream/", desk_views.desk_stream, name="desk-stream"),
    path("desk/feed/", desk_views.desk_feed, name="desk-feed"),
    path("desk/panels/<slug:name>/", desk_views.desk_panel, name="desk-panel"),
    path("org/", org_views.unit_tree, name="org-tree"),
    path("org/contacts/", org_views.contacts, name="org-contacts"),
    path("reports/new/", intake_views.report_form, name="report-new"),
    path("reports/<int:pk>/edit/", intake_views.report_form, name="report-edit"),
    path("reports/<int:pk>/discard/", intake_views.discard_draft, name="report-discard"),
    path("criteria/preview/", criteria_views.preview, name="criteria-preview"),
    path("events/", event_views.event_list, name="event-list"),
    path("events/merge-queue/", event_views.merge_queue, name="merge-queue"),
    path("events/merge-queue/<int:pk>/", event_views.merge_decide, name="merge-decide"),
    path("events/<int:pk>/", event_views.event_detail, name="event-detail"),
    path("events/<int:pk>/status/", event_views.event_status, name="event-status"),
    path("events/<int:pk>/merge/", event_views.event_merge, name="event-merge"),
    path("events/<int:pk>/split/", event_views.event_split, name="event-split"),
    path("escalation/", include("fenghuo.escalation.urls")),
    path("alerts/", include("fenghuo.alerts.urls")),
    path("public/", include("fenghuo.alerts.public_urls")),
    path("response/", include("fenghuo.response.urls")),
    path("opinion/", include("fenghuo.opinion.urls")),
    path("assess/", include("fenghuo.assess.urls")),
    path("drills/", include("fenghuo.drills.urls")),
    path(
        "reports/<int:pk>/attachments/", event_views.report_attachments, name="report-attachments"
    ),
    path("attachments/<int:pk>/", event_views.attachment, name="attachment"),
    path("", include("fenghuo.release.urls")),
    path("public/", public.index, name="public-index"),
    path("public/feeds/", public.feeds, name="public-feeds"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
    path("api/", api.urls),
    re_path(r"^api/", unknown_path),  # a prefix: also paths with newlines in them
    path("", include("fenghuo.ops.urls")),
]

if settings.FENGHUO_BENCH:

    def hello(request: HttpRequest) -> HttpResponse:
        return HttpResponse("hello")

    urlpatterns.append(path("_bench/hello", hello))
