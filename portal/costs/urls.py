from django.urls import path

from portal.costs import views

app_name = "costs"
urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("showback/", views.showback, name="showback"),
    path("ingest/", views.ingest, name="ingest"),
    path("environments/<slug:name>/", views.environment, name="environment"),
    path("environments/<slug:name>/budget/", views.budget, name="budget"),
    path("environments/<slug:name>/services/<str:service>/", views.service, name="service"),
]
