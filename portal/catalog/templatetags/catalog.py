"""The agent list's placement cells and an environment's placement rows (issue #11): one filter each instead of
a dozen template nodes per row, fifty rows a page. The markup is the template's; text is escaped by the function
Django's escape calls (html.escape), without its lazy-string wrapper."""

from functools import lru_cache

from django import template
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe

from portal.catalog.selectors import PlacementCell
from portal.core.markup import text as _text

register = template.Library()


@lru_cache(maxsize=64)
def _cell(cell: PlacementCell | None) -> SafeString:
    if cell is None:
        return mark_safe("<td></td>")
    return format_html('<td><span class="status status-{}">{}</span></td>', cell.status, cell.label)


@register.filter
def placement_cells(cells: list[PlacementCell | None]) -> SafeString:
    """One <td> per environment column: the placement's status, empty where the agent is not placed. Each
    distinct cell is built once (there are as many as statuses), not by a template loop over a page's 150."""
    return mark_safe("".join(_cell(cell) for cell in cells))


@register.filter
def placement_row(p: dict) -> SafeString:
    """An environment's placement (a row of placement_rows): its agent (a link), team, status (with why, where
    known), Redis database (shared or not), warm and cold containers, image tag and replicas."""
    detail = p["status_detail"]
    title = f'title="{_text(detail)}"' if detail else ""
    why = f'<div class="detail">{_text(detail)}</div>' if detail else ""
    redis = "—" if p["redis_db"] is None else _text(p["redis_db"])
    if p["redis_key_prefix"]:
        redis += f' <span class="muted" title="shared; keys prefixed {_text(p["redis_key_prefix"])}">shared</span>'
    return mark_safe(
        f'<tr>\n        <th scope="row"><a href="{_text(p["url"])}">{_text(p["slug"])}</a></th>\n'
        f'        <td>{_text(p["team"])}</td>\n'
        f'        <td><span class="status status-{_text(p["status"])}" {title}>{_text(p["status_label"])}</span>\n'
        f'          {why}</td>\n'
        f'        <td class="num">{redis}</td>\n'
        f'        <td><code>{_text(p["cosmos_container"] or "—")}</code></td>\n'
        f'        <td><code>{_text(p["blob_container"] or "—")}</code></td>\n'
        f'        <td>{_text(p["image_tag"])}</td>\n'
        f'        <td class="num">{_text(p["replicas"])}</td>\n      </tr>')


@register.filter
def agent_row(agent: dict) -> SafeString:
    """An agent list's row (a row of agent_rows): its name (a link) and tag, domain, team, memory tiers and its
    placement's status in each environment column."""
    return mark_safe(
        f'<tr>\n        <th scope="row"><a href="{_text(agent["url"])}">{_text(agent["display_name"])}</a>'
        f'<div class="detail"><code>{_text(agent["slug"])}</code></div></th>\n'
        f'        <td>{_text(agent["domain"])}</td>\n        <td>{_text(agent["team"])}</td>\n'
        f'        <td>{_text(agent["memory"])}</td>\n        {placement_cells(agent["cells"])}\n      </tr>')


@register.filter
def agent_table_rows(agents) -> SafeString:
    """Every row of an agent list's page (agent_row), each between the whitespace the template's loop put around
    it: one filter for the table rather than a loop's step and a filter per agent (#11)."""
    return mark_safe("".join(f"\n      {agent_row(agent)}\n    " for agent in agents))


@register.filter
def placement_table_rows(placements) -> SafeString:
    """Every row of an environment's page of placements (placement_row), as the template's loop laid them out."""
    return mark_safe("".join(f"\n      {placement_row(p)}\n    " for p in placements))


@register.filter
def filter_select(field) -> SafeString:
    """A filter's <select> (a BoundField of a ChoiceField), as the agent list's filter_select partial wrote it
    (Django's Select widget's markup): the option of the field's value selected, invalid when the field has an
    error. One filter for the select, not a loop step, a comparison and two variables per option (#11)."""
    current = field.value()
    if current is None:
        current = ""
    invalid = f' aria-invalid="true" aria-describedby="{_text(field.auto_id)}_error"' if field.errors else ""
    options = "".join(
        f'\n  <option value="{_text(value)}"{" selected" if value == current else ""}>{_text(label)}</option>'
        for value, label in field.field.choices)
    return mark_safe(f'\n<select name="{_text(field.html_name)}"{invalid} id="{_text(field.auto_id)}">{options}\n'
                     f'</select>')


@register.filter
def environment_facts(environment) -> SafeString:
    """An environment's settings card's facts (the <div>s of its <dl>), as its page's template wrote them: one filter
    for the card rather than some forty template nodes (#11). Numbers and the budget go through the filters the
    template used (localize, pluralize, floatformat, intcomma)."""
    from django.contrib.humanize.templatetags.humanize import intcomma
    from django.template.defaultfilters import floatformat, pluralize
    from django.utils.formats import localize
    from django.utils.html import conditional_escape

    def n(value) -> str:
        return conditional_escape(localize(value))

    e = environment
    subscription = (f"<code>{_text(e.subscription_id)}</code>" if e.subscription_id
                    else '<span class="muted">not set</span>')
    groups = e.scope_resource_groups
    pattern = (f"match <code>{_text(e.resource_name_pattern)}</code>" if e.resource_name_pattern
               else '<span class="muted">no pattern set</span>')
    limit = e.redis_database_limit
    redis = (f"{conditional_escape(e.get_redis_sku_display())}{', clustered' if e.redis_clustered else ''}: "
             f"{n(limit)} database{pluralize(limit)}")
    budget = conditional_escape(intcomma(floatformat(e.monthly_budget, 0)))
    if e.needs_approval:
        group = e.approver_group.name if e.approver_group else None
        operations = ", ".join(conditional_escape(label) for label in e.approval_operation_labels).lower()
        approval = (f"{n(e.approvals_required)} approval{pluralize(e.approvals_required)} from "
                    f"{conditional_escape(group or 'any approver')}, within {n(e.approval_timeout_hours)} h; "
                    f"for {operations or 'nothing'}")
    else:
        approval = "deployments need no approval"
    return mark_safe(
        f'\n      <div><dt>Subscription</dt><dd>{subscription}</dd></div>\n'
        f'      <div><dt>Region</dt><dd>{conditional_escape(e.region)}</dd></div>\n'
        f'      <div><dt>Resource group{pluralize(len(groups))}</dt><dd>'
        f'{", ".join(f"<code>{conditional_escape(g)}</code>" for g in groups)}</dd></div>\n'
        f"      <div><dt>Its resources' names</dt><dd>{pattern}</dd></div>\n"
        f'      <div><dt>AKS cluster</dt><dd><code>{conditional_escape(e.aks_cluster)}</code></dd></div>\n'
        f'      <div><dt>Redis</dt><dd>{redis}</dd></div>\n'
        f'      <div><dt>Monthly budget</dt><dd>${budget}</dd></div>\n'
        f'      <div><dt>Approval policy</dt><dd>{approval}</dd></div>\n    ')
