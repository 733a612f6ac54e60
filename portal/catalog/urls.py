from django.urls import path

from portal.catalog import onboarding_views, views

app_name = "catalog"
urlpatterns = [
    path("environments/<slug:name>/", views.environment_detail, name="environment_detail"),
    path("environments/<slug:name>/edit/", views.environment_edit, name="environment_edit"),
    path("environments/<slug:name>/sync/", views.environment_sync, name="environment_sync"),
    path("environments/<slug:name>/syncs/<int:pk>/", views.environment_sync_status, name="environment_sync_status"),
    path("agents/", views.agent_list, name="agent_list"),
    path("agents/new/", onboarding_views.agent_onboard, name="agent_onboard"),  # before agents/<slug>/
    path("agents/new/check/<str:field>/", onboarding_views.agent_onboard_check, name="agent_onboard_check"),
    path("agents/<slug:slug>/", views.agent_detail, name="agent_detail"),
    path("agents/<slug:slug>/onboarding/", onboarding_views.agent_onboarding, name="agent_onboarding"),
    path("agents/<slug:slug>/checklist/", onboarding_views.agent_checklist, name="agent_checklist"),
    path("agents/<slug:slug>/promote/", onboarding_views.agent_promote, name="agent_promote"),
]
