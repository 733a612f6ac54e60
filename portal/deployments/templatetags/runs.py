"""Ask a run what this person may do to it, in templates as in views (issue #9)."""

from django import template

register = template.Library()


@register.filter
def can_confirm(deployment, user) -> bool:
    return deployment.can_confirm(user)


@register.filter
def can_cancel_by(deployment, user) -> bool:
    return deployment.can_cancel_by(user)


@register.filter
def can_retry(deployment, user) -> bool:
    return deployment.can_retry(user)


@register.filter
def may_act(deployment, user) -> bool:
    return deployment.may_act(user)
