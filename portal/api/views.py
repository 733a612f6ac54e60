from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from portal.api import services
from portal.api.forms import TokenForm
from portal.api.models import ApiToken
from portal.core.errors import DomainError


@login_required
@require_http_methods(["GET", "POST"])
def token_list(request):
    """The caller's personal access tokens; a new one's secret is shown once, right after it is made."""
    form = TokenForm(request.POST or None)
    created = None
    if request.method == "POST" and form.is_valid():
        try:
            token, raw = services.token_create(user=request.user, request=request, **form.cleaned_data)
        except DomainError as exc:
            form.add_error(exc.field if exc.field in form.fields else None, exc.message)
        else:
            created = {"token": token, "secret": raw}
            form = TokenForm()
    context = {"form": form, "created": created,
               "tokens": ApiToken.objects.filter(user=request.user).order_by("-created_at", "-pk")}
    response = render(request, "api/tokens.html", context, status=400 if form.errors else 200)
    if created:
        response["Cache-Control"] = "no-store"
    return response


@login_required
@require_POST
def token_revoke(request, pk):
    token = get_object_or_404(ApiToken, pk=pk, user=request.user)
    services.token_revoke(token=token, user=request.user, request=request)
    return redirect("api_tokens:tokens")
