from urllib.parse import urlencode

from django.core.paginator import Paginator
from django.shortcuts import render
from django.views.decorators.http import require_GET

from portal.accounts.decorators import require_perm
from portal.audit import selectors
from portal.core.http import htmx_vary
from provisioning.text import too_long

PAGE_SIZE = 50
Q_MAX = 200  # AuditEvent.object_repr's length: a longer search cannot match


@require_GET
@require_perm("audit.view_auditevent")
def audit_list(request):
    filters = {key: request.GET.get(key, "").strip() for key in ("actor", "action", "object_type", "q")}
    # A search longer than any object's name is refused with the limit, never cut (issue #9); kept as typed.
    q_error = too_long(filters["q"], Q_MAX, what="The search")
    events = selectors.AuditRows(**filters, none=bool(q_error))
    page = Paginator(events, PAGE_SIZE).get_page(request.GET.get("page"))
    query = urlencode({k: v for k, v in filters.items() if v})
    context = {"page": page, "filters": filters, "choices": selectors.audit_filter_choices(), "query": query,
               "q_error": q_error}
    template = "audit/audit_list.html#results" if request.htmx else "audit/audit_list.html"
    return htmx_vary(render(request, template, context))
