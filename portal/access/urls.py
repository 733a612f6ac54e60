from django.urls import path

from portal.access import views

app_name = "access"
urlpatterns = [
    path("", views.overview, name="overview"),
    path("<slug:name>/", views.environment, name="environment"),
    path("<slug:name>/audit/", views.audit_now, name="audit"),
    path("<slug:name>/remediate/<str:role>/", views.remediate, name="remediate"),
]
