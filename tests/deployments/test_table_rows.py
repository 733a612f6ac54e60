"""Issue #11: the tables of runs and approvals write their rows by one filter each (templatetags/runs.py:
run_table_rows, approval_inbox_rows, approval_own_rows, approval_decided_rows, my_pending_rows) instead of a
{% for %} loop of template nodes; the templates write, byte for byte, what they wrote before, rows or none."""

import pytest
from django.core.paginator import Paginator
from django.template import Context, engines
from django.template.loader_tags import BlockNode

# The templates as they were until issue #11 moved their rows into filters: _table.html whole, and the content
# block of the approvals page and of my requests.
OLD_TABLE = """<table class="table">
  <thead><tr><th scope="col">Run</th><th scope="col">What</th><th scope="col">Environment</th><th scope="col">Status</th><th scope="col">Requested by</th><th scope="col">When (UTC)</th></tr></thead>
  <tbody>
  {% for d in rows %}
    <tr><th scope="row"><a href="{{ d.url }}">#{{ d.pk }}</a></th>
      <td>{{ d.what }}</td>
      <td>{{ d.environment }}</td>
      <td><span class="status status-{{ d.status }}">{{ d.status_label }}</span></td>
      <td>{{ d.requested_by|default:"system" }}</td>
      <td>{{ d.when }}</td></tr>
  {% empty %}<tr><td colspan="6" class="empty">{{ empty }}</td></tr>{% endfor %}
  </tbody>
</table>
"""

OLD_APPROVALS = """
<div class="page-head"><h1>Approvals</h1><p class="muted">Deployments waiting for a second person. Nobody approves their own.</p></div>
{% if can_decide %}
<section class="card" aria-labelledby="pending-h">
  <h2 id="pending-h">Waiting for you</h2>
  <table class="table" data-testid="inbox">
    <thead><tr><th scope="col">Request</th><th scope="col">What</th><th scope="col">Environment</th><th scope="col">Asked by</th><th scope="col">Why</th><th scope="col">Expires (UTC)</th></tr></thead>
    <tbody>
    {% for a in pending %}
      <tr><th scope="row"><a href="{{ a.url }}">Review #{{ a.deployment_id }}</a></th><td>{{ a.what }}</td>
        <td>{{ a.environment }}</td><td>{{ a.requested_by|default:"system" }}</td><td>{{ a.reason }}</td><td>{{ a.expires }}</td></tr>
    {% empty %}<tr><td colspan="6" class="empty">Nothing waits for you.</td></tr>{% endfor %}
    </tbody>
  </table>
</section>
{% endif %}
<section class="card" aria-labelledby="mine-h">
  <h2 id="mine-h">Your requests waiting for someone else</h2>
  <table class="table" data-testid="my-pending-approvals">
    <thead><tr><th scope="col">Request</th><th scope="col">What</th><th scope="col">Environment</th><th scope="col">Expires (UTC)</th></tr></thead>
    <tbody>
    {% for a in mine %}
      <tr><th scope="row"><a href="{{ a.url }}">Approval of #{{ a.deployment_id }}</a></th><td>{{ a.what }}</td><td>{{ a.environment }}</td><td>{{ a.expires }}</td></tr>
    {% empty %}<tr><td colspan="4" class="empty">Nothing of yours waits for approval. <a href="{% url 'deployments:mine' %}">My requests</a></td></tr>{% endfor %}
    </tbody>
  </table>
</section>
<section class="card" aria-labelledby="recent-h">
  <h2 id="recent-h">Decided recently</h2>
  <table class="table">
    <thead><tr><th scope="col">Request</th><th scope="col">What</th><th scope="col">Environment</th><th scope="col">Outcome</th><th scope="col">Note</th></tr></thead>
    <tbody>
    {% for a in recent %}
      <tr><th scope="row"><a href="{{ a.url }}">#{{ a.deployment_id }}</a></th><td>{{ a.what }}</td><td>{{ a.environment }}</td>
        <td><span class="status status-{{ a.status }}">{{ a.status_label }}</span></td><td>{{ a.outcome_note }}</td></tr>
    {% empty %}<tr><td colspan="5" class="empty">No decisions yet.</td></tr>{% endfor %}
    </tbody>
  </table>
  {% include "core/_pager.html" with page=recent pager_label="Pages of decided requests" %}
</section>
"""

OLD_MY_REQUESTS = """
<div class="page-head"><h1>My requests</h1><p class="muted">Runs you asked for, and your requests still waiting for someone else's approval.</p></div>
<section class="card" aria-labelledby="waiting-h">
  <h2 id="waiting-h">Waiting for approval</h2>
  <table class="table" data-testid="my-pending">
    <thead><tr><th scope="col">Request</th><th scope="col">What</th><th scope="col">Environment</th><th scope="col">Run</th><th scope="col">Expires (UTC)</th></tr></thead>
    <tbody>
    {% for a in pending %}
      <tr><th scope="row"><a href="{{ a.url }}">Approval of #{{ a.deployment_id }}</a></th><td>{{ a.what }}</td>
        <td>{{ a.environment }}</td><td><a href="{{ a.run_url }}">#{{ a.deployment_id }}</a></td><td>{{ a.expires }}</td></tr>
    {% empty %}<tr><td colspan="5" class="empty">Nothing of yours waits for approval.</td></tr>{% endfor %}
    </tbody>
  </table>
</section>
<section class="card" aria-labelledby="runs-h">
  <h2 id="runs-h">My runs</h2>
  {% include "deployments/_table.html" with rows=runs empty="You have not asked for any run yet." %}
  {% include "core/_pager.html" with page=runs pager_label="Pages of my runs" %}
</section>
"""

RUN = {"pk": 7, "url": "/deployments/7/", "what": "agent crm-bot", "environment": "dev", "status": "succeeded",
       "status_label": "Succeeded", "requested_by": "ada", "when": "2026-11-10 09:05"}
RUNS = {
    "plain": {},
    "no requester": {"requested_by": None},
    "empty requester": {"requested_by": ""},
    "escaped": {"what": 'agent <b>"x"</b> & \'y\'', "environment": "R&D", "requested_by": "a<b>",
                "status": 'odd"', "status_label": "<odd>"},
    "long": {"what": "static-web-app " + "x" * 300, "pk": 1234567, "url": "/deployments/1234567/"},
    "no time": {"when": ""},
}
APPROVAL = {"pk": 3, "url": "/deployments/approvals/3/", "deployment_id": 7, "run_url": "/deployments/7/",
            "what": "Scale crm-bot", "environment": "prod", "requested_by_id": 2, "requested_by": "ada",
            "reason": "release 3", "status": "approved", "status_label": "Approved",
            "outcome_note": "Approved by bob", "expires": "2026-11-10 13:05"}
APPROVALS = {
    "plain": {},
    "nobody asked": {"requested_by": None, "requested_by_id": None},
    "no reason, no note": {"reason": "", "outcome_note": ""},
    "escaped": {"what": "<script>&amp;", "environment": 'a"b', "requested_by": "o'brien",
                "reason": '<why> & "how"', "outcome_note": "Rejected by ada: <not> now & 'later'",
                "status": "rejected", "status_label": "R&D"},
    "long": {"reason": "why " * 125, "outcome_note": "n" * 500, "deployment_id": 100001},
    "none values": {"reason": None, "outcome_note": None, "expires": ""},
}


def runs(*names):
    return [{**RUN, "pk": RUN["pk"] + i, **RUNS[name]} for i, name in enumerate(names)]


def approvals(*names):
    return [{**APPROVAL, "pk": APPROVAL["pk"] + i, **APPROVALS[name]} for i, name in enumerate(names)]


def content(name: str, context: dict) -> str:
    """The content block of the template `name` as it renders now."""
    template = engines["django"].get_template(name).template
    block = next(node for node in template.nodelist.get_nodes_by_type(BlockNode) if node.name == "content")
    context = Context(context, autoescape=True)
    with context.bind_template(template):
        return block.nodelist.render(context)


def old(source: str, context: dict) -> str:
    return engines["django"].from_string(source).render(context)


def paged(rows):
    return Paginator(rows, 50).get_page(1)


@pytest.mark.parametrize("rows", [[], runs("plain"), runs(*RUNS), paged(runs(*RUNS)), paged([])],
                         ids=["none", "one", "every kind", "a page", "an empty page"])
def test_the_table_of_runs_writes_what_it_wrote(rows):
    context = {"rows": rows, "empty": 'Nothing <here> & "there".'}
    new = engines["django"].get_template("deployments/_table.html").render(context)
    assert new == old(OLD_TABLE, context)
    assert ("<td>system</td>" in new) == any(not r["requested_by"] for r in rows)


@pytest.mark.parametrize("can_decide", [True, False])
@pytest.mark.parametrize("pending, mine, recent", [
    ([], [], []),
    (approvals(*APPROVALS), [], []),
    ([], approvals(*APPROVALS), paged(approvals(*APPROVALS))),
    (approvals("plain", "escaped"), approvals("nobody asked"), approvals(*APPROVALS)),
    ([], [], paged([])),
], ids=["nothing", "pending only", "own and decided", "all three", "an empty page"])
def test_the_approvals_page_writes_what_it_wrote(can_decide, pending, mine, recent):
    context = {"pending": pending, "mine": mine, "recent": recent, "can_decide": can_decide}
    new = content("deployments/approval_inbox.html", context)
    assert new == old(OLD_APPROVALS, context)
    assert ("Review #7" in new) == (can_decide and bool(pending))


@pytest.mark.parametrize("pending, runs_", [([], []), (approvals(*APPROVALS), paged(runs(*RUNS))),
                                             (approvals("plain"), [])],
                         ids=["nothing", "everything", "no runs"])
def test_my_requests_writes_what_it_wrote(pending, runs_):
    context = {"pending": pending, "runs": runs_}
    assert content("deployments/my_requests.html", context) == old(OLD_MY_REQUESTS, context)


# The deployments page's table include and filter selects as they were until the run_table and option_tags tags.
OLD_INCLUDE = '<p>{% include "deployments/_table.html" with rows=rows empty="Nothing <is> here & there." %}</p>'
OLD_OPTIONS = ('<select><option value="">All</option>{% for e in environments %}<option value="{{ e }}" '
               '{% if e == filters.environment %}selected{% endif %}>{{ e }}</option>{% endfor %}</select>'
               '<select>{% for value, label in statuses %}<option value="{{ value }}" '
               '{% if value == filters.status %}selected{% endif %}>{{ label }}</option>{% endfor %}</select>')
NEW_INCLUDE = '{% load runs %}<p>{% run_table rows "Nothing <is> here & there." %}</p>'
NEW_OPTIONS = ('{% load runs %}<select><option value="">All</option>'
               '{% option_tags environment_pairs filters.environment %}</select>'
               '<select>{% option_tags statuses filters.status %}</select>')


@pytest.mark.parametrize("rows", [[], runs(*RUNS), paged(runs(*RUNS)), paged([])],
                         ids=["none", "every kind", "a page", "an empty page"])
def test_the_run_table_tag_writes_what_the_include_wrote(rows):
    context = {"rows": rows}
    assert old(NEW_INCLUDE, context) == old(OLD_INCLUDE, context)


@pytest.mark.parametrize("environment, status", [("", ""), ("prod", "failed"), ("R&D", "odd\""), ("nope", "queued")])
def test_the_filter_options_write_what_their_loops_wrote(environment, status):
    from portal.deployments.choices import DeploymentStatus

    environments = ["dev", "R&D", 'a"b', "<prod>", "prod", "o'brien"]
    statuses = [*DeploymentStatus.choices, ('odd"', "<Odd> & 'so'")]
    context = {"environments": environments, "environment_pairs": [(e, e) for e in environments],
               "statuses": statuses, "filters": {"environment": environment, "status": status}}
    new = old(NEW_OPTIONS, context)
    assert new == old(OLD_OPTIONS, context)
    assert new.count(" selected>") == (environment in environments) + (status in dict(statuses))
