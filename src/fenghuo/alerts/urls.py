"""Staff pages under /alerts/; the public pages and feed under /public/ (public_urls)."""

from django.urls import path

from fenghuo.alerts import views

urlpatterns = [
    path("", views.warning_list, name="warning-list"),
    path("queue/", views.warning_queue, name="warning-queue"),
    path("new/", views.warning_new, name="warning-new"),
    path("import/", views.cap_import, name="warning-import"),
    path("<int:pk>/", views.warning_detail, name="warning-detail"),
    path("<int:pk>/edit/", views.warning_edit, name="warning-edit"),
    path("<int:pk>/adjust/", views.warning_adjust, name="warning-adjust"),
    path("<int:pk>/<slug:action>/", views.warning_action, name="warning-action"),
]
