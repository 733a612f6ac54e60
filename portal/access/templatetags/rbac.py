"""Rows of an RBAC audit's findings (issue #11): an audit can list a few hundred role assignments, and each row
as one filter writes what the template's row of some eight nodes wrote, word for word; a table's rows as one
filter write what the template's {% for %} over them wrote (its {% empty %} row when there are none), its values
escaped in one pass."""

from html import escape

from django import template
from django.contrib.humanize.templatetags.humanize import naturaltime
from django.utils.safestring import SafeString, mark_safe

from portal.access.models import RbacAudit, RbacFinding
from portal.access.selectors import FindingRow
from portal.core.markup import text as _text

register = template.Library()

NONE = '<tr><td colspan="3" class="empty">None.</td></tr>'


def _escaped(values: list) -> list[str]:
    """Each value as text escaped for HTML (markup.text), escaped in one pass over them all: a table of a few
    hundred findings has some thousand short values, and a call of escape each was most of its writing."""
    texts = [value if isinstance(value, str) else str(value) for value in values]
    joined = "\0".join(texts)
    if joined.count("\0") != len(texts) - 1:     # a value holds the separator (PostgreSQL text cannot)
        return [_text(value) for value in texts]
    return escape(joined).split("\0")


def _table(findings: list[FindingRow], values, row) -> SafeString:
    """The rows as the template's loop wrote them, each on a line of its own, indented as it was: `row(f, texts)`
    writes one from the finding and its `values(f)` escaped."""
    if not findings:
        return mark_safe(NONE)
    width = len(values(findings[0]))
    texts = _escaped([value for f in findings for value in values(f)])
    return mark_safe("".join([f"\n      {row(f, texts[at:at + width])}\n    "
                              for f, at in zip(findings, range(0, len(texts), width))]))


def _unexpected_values(f) -> tuple:
    return f.role_name, f.scope_name, f.assignment_id, f.principal_id, f.principal_type


def _unexpected(f, texts) -> str:
    """An unexpected broad role: the role, where (the scope's last part, the assignment's id), who holds it."""
    role, scope_name, assignment_id, principal_id, principal_type = texts
    kind = f' <span class="muted">{principal_type}</span>' if f.principal_type else ""
    return (f'<tr data-role="{role}"><th scope="row">{role}</th>\n'
            f'        <td><code>{scope_name}</code><div class="detail"><code>{assignment_id}</code></div></td>\n'
            f'        <td><code>{principal_id}</code>{kind}</td></tr>')


def _present_values(f) -> tuple:
    return f.role_name, f.scope_name, f.principal, f.principal_id


def _present(f, texts) -> str:
    """An expected role that is there: the role, where (inherited from a scope above?), who holds it."""
    role, scope_name, principal, principal_id = texts
    inherited = ' <span class="muted">(inherited from above)</span>' if f.inherited else ""
    return (f'<tr data-role="{role}"><th scope="row">{role}</th>\n'
            f'        <td><code>{scope_name}</code>{inherited}</td>\n'
            f'        <td>{principal} <code>{principal_id}</code></td></tr>')


@register.filter
def unexpected_rows(findings: list[FindingRow]) -> SafeString:
    return _table(findings, _unexpected_values, _unexpected)


@register.filter
def present_rows(findings: list[FindingRow]) -> SafeString:
    return _table(findings, _present_values, _present)


@register.filter
def unexpected_row(f: RbacFinding | FindingRow) -> SafeString:
    return mark_safe(_unexpected(f, [_text(value) for value in _unexpected_values(f)]))


@register.filter
def present_row(f: RbacFinding | FindingRow) -> SafeString:
    return mark_safe(_present(f, [_text(value) for value in _present_values(f)]))


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
