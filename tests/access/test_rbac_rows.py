"""Issue #11: an RBAC audit's unexpected and present findings are written a row per filter, word for word what
the template's rows wrote."""

import pytest
from django.template import engines

from portal.access.models import RbacFinding
from portal.access.templatetags.rbac import present_row, unexpected_row

# The rows of templates/access/environment.html until issue #11.
UNEXPECTED = """<tr data-role="{{ f.role_name }}"><th scope="row">{{ f.role_name }}</th>
        <td><code>{{ f.scope_name }}</code><div class="detail"><code>{{ f.assignment_id }}</code></div></td>
        <td><code>{{ f.principal_id }}</code>{% if f.principal_type %} <span class="muted">{{ f.principal_type }}</span>{% endif %}</td></tr>"""
PRESENT = """<tr data-role="{{ f.role_name }}"><th scope="row">{{ f.role_name }}</th>
        <td><code>{{ f.scope_name }}</code>{% if f.inherited %} <span class="muted">(inherited from above)</span>{% endif %}</td>
        <td>{{ f.principal }} <code>{{ f.principal_id }}</code></td></tr>"""

FINDINGS = [
    RbacFinding(kind="unexpected", role_name="Owner", role_guid="8e3af657", principal_id="1f2e-<x>",
                principal_type="User", scope="/subscriptions/s/resourceGroups/rg-dev/",
                assignment_id="/subscriptions/s/providers/Microsoft.Authorization/roleAssignments/a&b"),
    RbacFinding(kind="unexpected", role_name="User Access Administrator", role_guid="18d7", principal_id="",
                scope="/subscriptions/s/resourceGroups/rg-dev"),
    RbacFinding(kind="present", role_name="AcrPull", role_guid="7f95", principal='aks-"kubelet"',
                principal_id="0a1b", scope_kind="acr", scope="/subscriptions/s/resourceGroups/rg/providers/x/acr1",
                inherited=True),
    RbacFinding(kind="present", role_name="Azure Event Hubs Data Owner", role_guid="f526", principal="aks-kubelet",
                principal_id="0a1b", scope="ns'1", inherited=False),
]


@pytest.mark.parametrize("finding", FINDINGS, ids=range(len(FINDINGS)))
def test_rows_say_what_the_template_rows_said(finding):
    for row, source in ((unexpected_row, UNEXPECTED), (present_row, PRESENT)):
        assert row(finding) == engines["django"].from_string(source).render({"f": finding})
