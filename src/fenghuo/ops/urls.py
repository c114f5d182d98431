from django.urls import path

from fenghuo.ops import views

urlpatterns = [
    path("healthz", views.healthz, name="healthz"),
    path("readyz", views.readyz, name="readyz"),
    path("heartbeat", views.heartbeat, name="heartbeat"),
    path("metrics", views.metrics_view, name="metrics"),
]
