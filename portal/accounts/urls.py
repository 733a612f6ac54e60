from django.urls import include, path

from portal.accounts import views

urlpatterns = [
    path("no-access/", views.no_access, name="entra_no_access"),
    path("", include("mozilla_django_oidc.urls")),
]
