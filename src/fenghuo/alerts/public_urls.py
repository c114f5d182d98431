"""Public warning pages (no login), included under /public/."""

from django.urls import path

from fenghuo.alerts import views

urlpatterns = [
    path("warnings/", views.public_list, name="public-warnings"),
    path("warnings/<int:pk>/", views.public_detail, name="public-warning"),
    path("warnings/<int:pk>/cap.xml", views.public_cap, name="public-warning-cap"),
    path("feeds/warnings.atom", views.WarningsFeed(), name="public-warnings-feed"),
]
