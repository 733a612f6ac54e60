from django import forms


class VersionedFormMixin:
    """An edit form of something shared carries the version it was filled in from (a hidden field), so a save
    over someone else's newer one can be refused instead of silently reverting it."""

    def add_version_field(self, version: int) -> None:
        self.fields["version"] = forms.IntegerField(widget=forms.HiddenInput, min_value=0, max_value=2**31 - 1,
                                                    initial=version)

    def stale(self, exc) -> None:
        """After a StaleEdit: keep what was typed, show the message, and carry the current version, so saving
        again (having seen the other person's changes) goes through."""
        self.data = self.data.copy()
        self.data[self.add_prefix("version")] = str(exc.current.version)
        self.add_error(None, exc.message)
