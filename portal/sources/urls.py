from django.urls import path

from portal.sources import views

app_name = "sources"
urlpatterns = [
    path("", views.source_list, name="list"),
    path("new/", views.source_edit, name="new"),
    path("<int:pk>/edit/", views.source_edit, name="edit"),
    path("<int:pk>/sync/", views.source_sync_now, name="sync"),
    path("<slug:name>/webhook/", views.source_webhook, name="webhook"),
]
