from django.urls import path

from fenghuo.response import views

urlpatterns = [
    path("events/<int:pk>/", views.board, name="response-board"),
    path("events/<int:pk>/start/", views.start, name="response-start"),
    path("<int:pk>/level/", views.change_level, name="response-level"),
    path("<int:pk>/tasks/", views.create_task, name="response-task-create"),
    path("<int:pk>/end-request/", views.end_request, name="response-end-request"),
    path("<int:pk>/end-decision/", views.end_decision, name="response-end-decision"),
    path("<int:pk>/summary/", views.summary, name="response-summary"),
    path("tasks/<int:pk>/edit/", views.edit_task, name="response-task-edit"),
    path("tasks/<int:pk>/state/", views.task_state, name="response-task-state"),
    path("tasks/<int:pk>/notes/", views.task_note, name="response-task-note"),
    path("tasks/<int:pk>/evidence/", views.task_evidence, name="response-task-evidence"),
    path("evidence/<int:pk>/", views.evidence, name="response-evidence"),
]
