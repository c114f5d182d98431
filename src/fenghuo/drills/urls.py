from django.urls import path

from fenghuo.drills import views

urlpatterns = [
    path("", views.library, name="drill-library"),
    path("scenarios/upload/", views.upload, name="drill-upload"),
    path("scenarios/<slug:slug>/", views.scenario_detail, name="drill-scenario"),
    path("runs/", views.run_list, name="drill-runs"),
    path("runs/<int:pk>/", views.run_page, name="drill-run"),
    path("runs/<int:pk>/live/", views.run_live, name="drill-run-live"),
    path("runs/<int:pk>/start/", views.run_start, name="drill-run-start"),
    path("runs/<int:pk>/end/", views.run_end, name="drill-run-end"),
    path("runs/<int:pk>/purge/", views.run_purge, name="drill-run-purge"),
    path("runs/<int:pk>/results/", views.results, name="drill-results"),
    path("runs/<int:pk>/report.docx", views.report_docx, name="drill-report"),
    path("runs/<int:pk>/drafts/<int:report_id>/", views.draft_confirm, name="drill-draft"),
    path("runs/<int:pk>/improvements/", views.improvement_new, name="drill-improvement-new"),
    path("improvements/", views.improvements, name="drill-improvements"),
    path(
        "improvements/<int:pk>/complete/",
        views.improvement_complete,
        name="drill-improvement-complete",
    ),
]
