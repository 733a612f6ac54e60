from django.utils import timezone

from portal.core.errors import InvalidTransition


def transition(model, pk, *, old, new, allowed, **fields):
    """Move one row from `old` to `new` status: the only way a status changes.

    A conditional UPDATE claims the row, so of two workers (or approvers) racing, exactly one wins
    and the other gets InvalidTransition.
    """
    if new not in allowed.get(old, set()):
        raise InvalidTransition(f"{model._meta.verbose_name} cannot go from {old} to {new}.")
    changed = model.objects.filter(pk=pk, status=old).update(status=new, **fields)
    if changed != 1:
        raise InvalidTransition(f"{model._meta.verbose_name} {pk} is no longer {old}.")
    return model.objects.get(pk=pk)


def now():
    return timezone.now()
