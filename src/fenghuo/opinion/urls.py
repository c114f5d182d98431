"""Opinion pages under /opinion/."""

from django.urls import path

from fenghuo.opinion import views

urlpatterns = [
    path("", views.topic_list, name="opinion-topics"),
    path("topics/<int:pk>/", views.topic_page, name="opinion-topic"),
    path("stream/", views.stream, name="opinion-stream"),
    path("stream/rows/", views.stream_rows, name="opinion-stream-rows"),
    path("warnings/", views.warning_list, name="opinion-warnings"),
    path("warnings/<int:pk>/decide/", views.warning_decide, name="opinion-warning-decide"),
    path("topics/<int:pk>/clue/", views.topic_clue, name="opinion-topic-clue"),
    path("schemes/", views.scheme_list, name="opinion-schemes"),
    path("schemes/new/", views.scheme_edit, name="opinion-scheme-new"),
    path("schemes/<int:pk>/", views.scheme_edit, name="opinion-scheme-edit"),
    path("schemes/preview/", views.scheme_preview, name="opinion-scheme-preview"),
    path("reports/", views.report_page, name="opinion-reports"),
    path("reports/<slug:kind>.docx", views.report_download, name="opinion-report"),
]
