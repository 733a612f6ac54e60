from urllib.parse import urlencode

from django.core.paginator import Paginator
from django.shortcuts import render
from django.views.decorators.http import require_GET

from portal.accounts.decorators import require_perm
from portal.audit import selectors
from portal.core.http import htmx_vary

PAGE_SIZE = 50


@require_GET
@require_perm("audit.view_auditevent")
def audit_list(request):
    filters = {key: request.GET.get(key, "").strip()[:100] for key in ("actor", "action", "object_type", "q")}
    events = selectors.audit_event_list(**filters)
    page = Paginator(events, PAGE_SIZE).get_page(request.GET.get("page"))
    query = urlencode({k: v for k, v in filters.items() if v})
    context = {"page": page, "filters": filters, "choices": selectors.audit_filter_choices(), "query": query}
    template = "audit/audit_list.html#results" if request.htmx else "audit/audit_list.html"
    return htmx_vary(render(request, template, context))
