from django import forms

from portal.core.forms import VersionedFormMixin
from portal.costs.choices import DEFAULT_THRESHOLDS


class CostFilterForm(forms.Form):
    """The filters of the cost pages; an invalid value is dropped rather than failing the page."""

    month = forms.RegexField(regex=r"^\d{4}-\d{2}$", required=False,
                             widget=forms.TextInput(attrs={"type": "month"}))
    environment = forms.ChoiceField(required=False)
    resource_group = forms.CharField(required=False, max_length=90)

    def __init__(self, *args, environments: list[str] = (), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["environment"].choices = [("", "All environments")] + [(e, e) for e in environments]

    def value(self, name: str) -> str:
        if not self.is_bound or not self.is_valid() and name in self.errors:
            return ""
        return self.cleaned_data.get(name) or ""


def parse_thresholds(text: str) -> list[int]:
    """'50, 80, 100' as [50, 80, 100]."""
    values = [part.strip().rstrip("%").strip() for part in text.replace(";", ",").split(",") if part.strip()]
    try:
        numbers = sorted({int(v) for v in values})
    except ValueError:
        raise forms.ValidationError("Give whole percents separated by commas, e.g. 50, 80, 100.") from None
    if any(not 1 <= n <= 1000 for n in numbers):
        raise forms.ValidationError("Each threshold is a percent from 1 to 1000.")
    return numbers


class BudgetPolicyForm(VersionedFormMixin, forms.Form):
    actual_thresholds = forms.CharField(
        label="Thresholds on actual cost", max_length=200,
        help_text="Percent of the monthly budget, separated by commas. Empty: no alerts on actual cost.",
        required=False, initial=", ".join(map(str, DEFAULT_THRESHOLDS)))
    forecast_thresholds = forms.CharField(
        label="Thresholds on the forecast", max_length=200,
        help_text="Percent of the monthly budget the forecast to month end may reach. Empty: none.",
        required=False, initial=", ".join(map(str, DEFAULT_THRESHOLDS)))

    def __init__(self, *args, version: int = 0, **kwargs):
        super().__init__(*args, **kwargs)
        self.add_version_field(version)

    def clean_actual_thresholds(self):
        return parse_thresholds(self.cleaned_data["actual_thresholds"])

    def clean_forecast_thresholds(self):
        return parse_thresholds(self.cleaned_data["forecast_thresholds"])
