from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from portal.accounts.decorators import require_perm
from portal.core.errors import DomainError
from portal.sources import selectors, services
from portal.sources.choices import SourceKind
from portal.sources.forms import SourceForm
from portal.sources.models import TemplateSource


@require_GET
@require_perm("sources.view_templatesource")
def source_list(request):
    services.builtin_source()
    status = request.GET.get("status", "")
    files = selectors.file_list(status=status)
    page = Paginator(files, 50).get_page(request.GET.get("page"))
    context = {"sources": selectors.source_list(), "page": page, "status": status,
               "failing": selectors.template_files_failing().count()}
    return render(request, "sources/source_list.html", context)


@require_http_methods(["GET", "POST"])
@require_perm("sources.add_templatesource", "sources.change_templatesource")
def source_edit(request, pk=None):
    source = get_object_or_404(TemplateSource, pk=pk, kind=SourceKind.GIT) if pk else None
    form = SourceForm(request.POST or None, instance=source)
    if request.method == "POST" and form.is_valid():
        source = services.source_save(source=form.save(commit=False), user=request.user, request=request,
                                      token=form.cleaned_data["token"] or ("" if form.cleaned_data["clear_token"]
                                                                            else None),
                                      webhook_secret=form.cleaned_data["webhook_secret"] or None)
        messages.success(request, f"Saved {source.name}; a sync is on its way.")
        return redirect("sources:list")
    return render(request, "sources/source_form.html", {"form": form, "source": source},
                  status=400 if form.errors else 200)


@require_POST
@require_perm("sources.change_templatesource")
def source_sync_now(request, pk):
    source = get_object_or_404(TemplateSource, pk=pk)
    services.source_sync_request(source=source, user=request.user, request=request)
    messages.success(request, f"Syncing {source.name}; the list shows the result when it is done.")
    return redirect("sources:list")


@csrf_exempt
@require_POST
def source_webhook(request, name):
    """A push webhook (GitHub or GitLab). No session: the shared secret is the credential."""
    source = get_object_or_404(TemplateSource, name=name, kind=SourceKind.GIT, enabled=True)
    try:
        services.source_webhook(source=source, body=request.body,
                                signature=request.headers.get("X-Hub-Signature-256", ""),
                                token=request.headers.get("X-Gitlab-Token", ""))
    except DomainError as exc:
        return HttpResponse(exc.message, status=exc.status, content_type="text/plain")
    return HttpResponse("sync queued\n", status=202, content_type="text/plain")
