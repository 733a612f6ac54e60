from django import forms
from django.forms.renderers import DjangoTemplates

NO_BROWSER_LIMITS = ("maxlength",)


class PortalFormRenderer(DjangoTemplates):
    """Every form of the portal renders through this (settings.FORM_RENDERER), admin's included.

    A field's max_length becomes `maxlength="N"` on its input, and a browser then cuts pasted text at N
    without a word (issue #9). The attribute is dropped here, for every widget (and a MultiWidget's parts),
    so the server's own check does the refusing: "Ensure this value has at most N characters (it has M).",
    with what was typed kept in the form."""

    def render(self, template_name, context, request=None):
        widget = context.get("widget") if hasattr(context, "get") else None
        if isinstance(widget, dict):
            for part in (widget, *widget.get("subwidgets", ())):
                attrs = part.get("attrs")
                if attrs:
                    for name in NO_BROWSER_LIMITS:
                        attrs.pop(name, None)
        return super().render(template_name, context, request=request)


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
