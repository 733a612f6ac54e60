from django.urls import path

from portal.health import views

app_name = "health"
urlpatterns = [
    path("", views.overview, name="overview"),
    path("<slug:name>/", views.board, name="board"),
    path("<slug:name>/readiness/", views.readiness, name="readiness"),
]
