"""Rows of an RBAC audit's findings (issue #11): an audit can list a few hundred role assignments, and each row
as one filter writes what the template's row of some eight nodes wrote, word for word; a table's rows as one
filter write what the template's {% for %} over them wrote (its {% empty %} row when there are none)."""

from django import template
from django.contrib.humanize.templatetags.humanize import naturaltime
from django.utils.safestring import SafeString, mark_safe

from portal.access.models import RbacAudit, RbacFinding
from portal.access.selectors import FindingRow
from portal.core.markup import text as _text

register = template.Library()

NONE = '<tr><td colspan="3" class="empty">None.</td></tr>'


def _rows(findings: list[FindingRow], row) -> SafeString:
    """The rows as the template's loop wrote them: each on a line of its own, indented as it was."""
    if not findings:
        return mark_safe(NONE)
    return mark_safe("".join([f"\n      {row(f)}\n    " for f in findings]))


@register.filter
def unexpected_rows(findings: list[FindingRow]) -> SafeString:
    return _rows(findings, unexpected_row)


@register.filter
def present_rows(findings: list[FindingRow]) -> SafeString:
    return _rows(findings, present_row)


@register.filter
def unexpected_row(f: RbacFinding | FindingRow) -> SafeString:
    """An unexpected broad role: the role, where (the scope's last part, the assignment's id), who holds it."""
    kind = f' <span class="muted">{_text(f.principal_type)}</span>' if f.principal_type else ""
    role = _text(f.role_name)
    return mark_safe(f'<tr data-role="{role}"><th scope="row">{role}</th>\n'
                     f'        <td><code>{_text(f.scope_name)}</code><div class="detail"><code>{_text(f.assignment_id)}'
                     f'</code></div></td>\n'
                     f'        <td><code>{_text(f.principal_id)}</code>{kind}</td></tr>')


@register.filter
def present_row(f: RbacFinding | FindingRow) -> SafeString:
    """An expected role that is there: the role, where (inherited from a scope above?), who holds it."""
    inherited = ' <span class="muted">(inherited from above)</span>' if f.inherited else ""
    role = _text(f.role_name)
    return mark_safe(f'<tr data-role="{role}"><th scope="row">{role}</th>\n'
                     f'        <td><code>{_text(f.scope_name)}</code>{inherited}</td>\n'
                     f'        <td>{_text(f.principal)} <code>{_text(f.principal_id)}</code></td></tr>')


def _outcome(a: RbacAudit) -> str:
    if a.could_read:
        return "clean" if a.clean else "drift"
    return f'<span class="text-bad">could not read</span><div class="detail">{_text(a.error)}</div>'


@register.filter
def history_rows(history: list[RbacAudit]) -> SafeString:
    """The recent audits' rows, as the template's loop wrote them: the audit, when and by whom (the schedule:
    no one), its outcome, what it found missing and unexpected."""
    rows = []
    for a in history:
        by = f" · {_text(a.requested_by.username)}" if a.requested_by else ""
        rows.append(f'\n      <tr><th scope="row">#{a.pk}</th><td>{_text(naturaltime(a.ran_at))}{by}</td>\n'
                    f'        <td>{_outcome(a)}</td>\n'
                    f'        <td class="num">{a.missing_count}</td><td class="num">{a.unexpected_count}</td></tr>\n    ')
    return mark_safe("".join(rows))
