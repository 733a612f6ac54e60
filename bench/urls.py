from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.urls import include, path


@login_required
def baseline(request):
    """The reference page: signed in, renders base.html, no query of its own."""
    return render(request, "base.html", {})


urlpatterns = [path("bench/baseline/", baseline, name="bench_baseline"), path("", include("portal.urls"))]
