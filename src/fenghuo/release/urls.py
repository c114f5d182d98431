"""Staff pages under /releases/, the public pages under /public/releases/ and the Atom
feed at /public/feeds/releases.atom (included at the site root)."""

from django.urls import path

from fenghuo.release import views

urlpatterns = [
    path("releases/", views.release_list, name="release-list"),
    path("releases/new/", views.release_new, name="release-new"),
    path("releases/queue/", views.approval_queue, name="release-queue"),
    path("releases/preview/", views.preview, name="release-preview"),
    path("releases/<int:pk>/", views.release_detail, name="release-detail"),
    path("releases/<int:pk>/new-version/", views.new_version, name="release-new-version"),
    path("releases/versions/<int:pk>/edit/", views.version_edit, name="release-version-edit"),
    path(
        "releases/versions/<int:pk>/press-release.docx",
        views.press_release,
        name="release-press-release",
    ),
    path("releases/versions/<int:pk>/texts/", views.version_texts, name="release-texts"),
    path(
        "releases/versions/<int:pk>/<slug:action>/",
        views.version_action,
        name="release-version-action",
    ),
    path("public/releases/", views.public_list, name="public-release-list"),
    path("public/releases/<int:pk>/", views.public_detail, name="public-release"),
    path("public/feeds/releases.atom", views.ReleaseFeed(), name="public-release-feed"),
]
