from django import forms

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
        self.fields["team"].choices = [("", "All teams")] + list(choices["teams"])
        self.fields["environment"].choices = [("", "All environments")] + [(e, e) for e in choices["environments"]]

    def filters(self) -> dict:
        """The valid filters; an unknown value is dropped rather than failing the page."""
        if self.is_valid():
            return {k: v for k, v in self.cleaned_data.items() if v}
        return {k: v for k, v in self.cleaned_data.items() if v and k not in self.errors}


class EnvironmentForm(VersionedFormMixin, forms.ModelForm):
    class Meta:
        model = Environment
        fields = ENVIRONMENT_EDITABLE
        widgets = {"subscription_id": forms.TextInput(attrs={"placeholder": "00000000-0000-0000-0000-000000000000"})}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.add_version_field(self.instance.version)
