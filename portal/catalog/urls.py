from django.urls import path

from portal.catalog import views

app_name = "catalog"
urlpatterns = [
    path("environments/<slug:name>/", views.environment_detail, name="environment_detail"),
    path("environments/<slug:name>/edit/", views.environment_edit, name="environment_edit"),
    path("environments/<slug:name>/sync/", views.environment_sync, name="environment_sync"),
    path("environments/<slug:name>/syncs/<int:pk>/", views.environment_sync_status, name="environment_sync_status"),
    path("agents/", views.agent_list, name="agent_list"),
    path("agents/<slug:slug>/", views.agent_detail, name="agent_detail"),
]
