from django.urls import path

from fenghuo.escalation import views

urlpatterns = [
    path("routes/<int:pk>/sign-off/", views.sign_off, name="route-sign-off"),
    path("routes/<int:pk>/acknowledge/", views.acknowledge, name="route-acknowledge"),
]
