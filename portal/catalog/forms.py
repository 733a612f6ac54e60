import re

from django import forms

from portal.catalog.choices import APPROVAL_OPERATIONS

from portal.catalog.models import Environment
from portal.catalog.services import ENVIRONMENT_EDITABLE
from portal.core.forms import VersionedFormMixin


class AgentFilterForm(forms.Form):
    q = forms.CharField(required=False, label="Search", max_length=100)
    domain = forms.ChoiceField(required=False)
    team = forms.ChoiceField(required=False)
    environment = forms.ChoiceField(required=False)

    def __init__(self, *args, choices: dict, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["domain"].choices = [("", "All domains")] + [(d, d) for d in choices["domains"]]
        self.fields["team"].choices = [("", "All teams")] + [(slug, name) for _, slug, name in choices["teams"]]
        self.fields["environment"].choices = [("", "All environments")] + [(e, e) for _, e in choices["environments"]]

    def filters(self) -> dict:
        """The valid filters; an unknown value is dropped rather than failing the page."""
        if self.is_valid():
            return {k: v for k, v in self.cleaned_data.items() if v}
        return {k: v for k, v in self.cleaned_data.items() if v and k not in self.errors}


class EnvironmentForm(VersionedFormMixin, forms.ModelForm):
    # Issue #9: the environment's scope and which operations its approval policy covers.
    resource_groups = forms.CharField(required=False, label="Other resource groups",
                                      help_text="Comma-separated; besides the main resource group above.")
    approval_operations = forms.MultipleChoiceField(
        choices=list(APPROVAL_OPERATIONS.items()), required=False, widget=forms.CheckboxSelectMultiple,
        label="Operations that need approval", help_text="When approvals are required (above).")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk and not self.is_bound:
            self.initial["resource_groups"] = ", ".join(self.instance.resource_groups or [])
        self.add_version_field(self.instance.version)

    def clean_resource_groups(self):
        return [g.strip() for g in self.cleaned_data["resource_groups"].split(",") if g.strip()]

    def clean_resource_name_pattern(self):
        pattern = self.cleaned_data["resource_name_pattern"]
        try:
            re.compile(pattern)
        except re.error as exc:
            raise forms.ValidationError(f"Not a regular expression: {exc}.") from exc
        return pattern

    class Meta:
        model = Environment
        fields = ENVIRONMENT_EDITABLE
        widgets = {"subscription_id": forms.TextInput(attrs={"placeholder": "00000000-0000-0000-0000-000000000000"})}
