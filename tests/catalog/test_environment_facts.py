"""The environment page's settings card written by one filter (environment_facts, #11): byte for byte what its
template wrote, hostile text escaped."""

from decimal import Decimal

import pytest
from django.contrib.auth.models import Group
from django.template import engines

from portal.catalog.models import Environment
from portal.catalog.templatetags.catalog import environment_facts

OLD = """{% load humanize %}
      <div><dt>Subscription</dt><dd>{% if environment.subscription_id %}<code>{{ environment.subscription_id }}</code>{% else %}<span class="muted">not set</span>{% endif %}</dd></div>
      <div><dt>Region</dt><dd>{{ environment.region }}</dd></div>
      <div><dt>Resource group{{ environment.scope_resource_groups|length|pluralize }}</dt><dd>{% for g in environment.scope_resource_groups %}<code>{{ g }}</code>{% if not forloop.last %}, {% endif %}{% endfor %}</dd></div>
      <div><dt>Its resources' names</dt><dd>{% if environment.resource_name_pattern %}match <code>{{ environment.resource_name_pattern }}</code>{% else %}<span class="muted">no pattern set</span>{% endif %}</dd></div>
      <div><dt>AKS cluster</dt><dd><code>{{ environment.aks_cluster }}</code></dd></div>
      <div><dt>Redis</dt><dd>{{ environment.get_redis_sku_display }}{% if environment.redis_clustered %}, clustered{% endif %}: {{ environment.redis_database_limit }} database{{ environment.redis_database_limit|pluralize }}</dd></div>
      <div><dt>Monthly budget</dt><dd>${{ environment.monthly_budget|floatformat:0|intcomma }}</dd></div>
      <div><dt>Approval policy</dt><dd>{% if environment.needs_approval %}{{ environment.approvals_required }} approval{{ environment.approvals_required|pluralize }} from {{ environment.approver_group.name|default:"any approver" }}, within {{ environment.approval_timeout_hours }} h; for {{ environment.approval_operation_labels|join:", "|lower|default:"nothing" }}{% else %}deployments need no approval{% endif %}</dd></div>
    """

HOSTILE = "<b>\"x\" & 'y'</b>"


def _environments():
    yield Environment(name="dev")
    yield Environment(name="e", subscription_id=HOSTILE, region=HOSTILE, resource_group=HOSTILE,
                      resource_groups=["other<&>", HOSTILE, "third"], resource_name_pattern=HOSTILE,
                      aks_cluster=HOSTILE, redis_sku="P2", redis_clustered=True, monthly_budget=Decimal("1234567.89"),
                      approvals_required=1, approval_timeout_hours=1, approval_operations=[])
    with_group = Environment(name="g", redis_sku="P1", monthly_budget=Decimal("999.50"), approvals_required=3,
                             approval_timeout_hours=48, approval_operations=["apply", "retire", "template"],
                             resource_groups=["rg"], resource_group="rg")
    with_group.approver_group = Group(name=HOSTILE)
    yield with_group
    no_ops = Environment(name="n", approvals_required=2, approval_operations=None, monthly_budget=Decimal("0.49"))
    no_ops.approver_group = Group(name="")
    yield no_ops


@pytest.mark.parametrize("environment", list(_environments()), ids=lambda e: e.name)
def test_environment_facts_are_what_the_template_wrote(environment):
    old = engines["django"].from_string(OLD).render({"environment": environment})
    assert environment_facts(environment) == old
