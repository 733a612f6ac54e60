class DomainError(Exception):
    """A rule of the domain refused the action. One middleware turns it into a 4xx page or partial."""

    status = 400

    def __init__(self, message: str, *, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field


class ConflictError(DomainError):
    """The object is not in a state that allows the action (someone else got there first)."""

    status = 409


class InvalidTransition(ConflictError):
    pass


class NotAllowed(DomainError):
    """This person may not do this to this object (e.g. act on another team's run)."""

    status = 403
class StaleEdit(ConflictError):
    """An edit form was filled in from a version someone else has since changed. `current` is the saved object
    as it is now, `changes` the audit events that moved it past the form's version (newest last)."""

    def __init__(self, message: str, *, current, changes=()):
        super().__init__(message)
        self.current = current
        self.changes = list(changes)
