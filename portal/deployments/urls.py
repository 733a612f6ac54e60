from django.urls import path

from portal.deployments import views

app_name = "deployments"
urlpatterns = [
    path("", views.deployment_list, name="list"),
    path("new/", views.deployment_new, name="new"),
    path("mine/", views.my_requests, name="mine"),
    path("redeploy/", views.deployment_redeploy, name="redeploy"),
    path("cluster/<int:placement_id>/<slug:action>/", views.cluster_operation, name="cluster"),
    path("retire/<int:placement_id>/", views.placement_retire, name="retire"),
    path("approvals/", views.approval_inbox, name="approvals"),
    path("approvals/count/", views.approval_count, name="approval_count"),
    path("approvals/<int:pk>/", views.approval_detail, name="approval"),
    path("<int:pk>/", views.deployment_detail, name="detail"),
    path("<int:pk>/progress/", views.deployment_progress, name="progress"),
    path("<int:pk>/confirm/", views.deployment_confirm, name="confirm"),
    path("<int:pk>/cancel/", views.deployment_cancel, name="cancel"),
    path("<int:pk>/retry/", views.deployment_retry, name="retry"),
]
