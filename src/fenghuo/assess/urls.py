"""Pages under /assess/ (evaluation, cases, letters, bulletins, findings, summaries)."""

from django.urls import path

from fenghuo.assess import views

urlpatterns = [
    path("", views.ranking, name="assess-ranking"),
    path("ranking.xlsx", views.ranking_xlsx, name="assess-ranking-xlsx"),
    path("units/<int:pk>/", views.unit_scorecard, name="assess-unit"),
    path("units/<int:pk>/figures/<slug:name>/", views.figure, name="assess-figure"),
    path("cases/", views.case_list, name="assess-cases"),
    path("cases/new/", views.incident_new, name="assess-incident-new"),
    path("cases/<int:pk>/", views.case_detail, name="assess-case"),
    path("cases/<int:pk>/<slug:action>/", views.case_action, name="assess-case-action"),
    path("letters/", views.letter_list, name="assess-letters"),
    path("letters/<int:pk>/", views.letter_detail, name="assess-letter"),
    path("letters/<int:pk>/answer/", views.letter_answer, name="assess-letter-answer"),
    path("letters/<int:pk>/letter.docx", views.letter_docx, name="assess-letter-docx"),
    path("bulletins/", views.bulletin_list, name="assess-bulletins"),
    path("bulletins/new/", views.bulletin_new, name="assess-bulletin-new"),
    path("bulletins/<int:pk>/", views.bulletin_detail, name="assess-bulletin"),
    path(
        "bulletins/<int:pk>/circulate/", views.bulletin_circulate, name="assess-bulletin-circulate"
    ),
    path(
        "bulletins/<int:pk>/bulletin.<slug:extension>",
        views.bulletin_file,
        name="assess-bulletin-file",
    ),
    path("findings/", views.finding_list, name="assess-findings"),
    path("findings/<int:pk>/", views.finding_detail, name="assess-finding"),
    path("reports/<int:pk>/adopt/", views.adopt, name="assess-adopt"),
    path("events/<int:pk>/summary/", views.summary, name="assess-summary"),
    path("events/<int:pk>/summary.docx", views.summary_docx, name="assess-summary-docx"),
]
