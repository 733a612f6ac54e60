from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path, re_path

from portal.accounts import views as account_views
from portal.api.api import api
from portal.api.problems import api_not_found

urlpatterns = [
    path("accounts/login/", account_views.SignInView.as_view(redirect_authenticated_user=True), name="login"),
    path("accounts/entra/", include("portal.accounts.urls")),
    path("api/v1/", api.urls),
    re_path(r"^api/", api_not_found),
    path("tokens/", include("portal.api.urls")),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
    path("audit/", include("portal.audit.urls")),
    path("deployments/", include("portal.deployments.urls")),
    path("costs/", include("portal.costs.urls")),
    path("health/", include("portal.health.urls")),
    path("access/", include("portal.access.urls")),
    path("", include("portal.catalog.urls")),
    path("", include("portal.core.urls")),
]
