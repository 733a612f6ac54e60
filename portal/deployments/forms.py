from django import forms

from portal.catalog.models import Environment


class NewDeploymentForm(forms.Form):
    """Step one: which template, to which environment."""

    template = forms.ChoiceField(label="Template")
    environment = forms.ModelChoiceField(queryset=Environment.objects.order_by("position", "name"),
                                         to_field_name="name", empty_label=None)

    def __init__(self, *args, templates, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["template"].choices = [(t.name, f"{t.name}: {t.description}" if t.description else t.name)
                                           for t in templates]


class RequestDetailsForm(forms.Form):
    reason = forms.CharField(max_length=500, required=False, help_text="At most 500 characters.",
                             widget=forms.TextInput(attrs={"placeholder": "Why this deployment (shown to approvers)"}))


class ScaleForm(forms.Form):
    replicas = forms.IntegerField(min_value=0, max_value=50)


class DecisionForm(forms.Form):
    decision = forms.ChoiceField(choices=[("approve", "Approve"), ("reject", "Reject")], widget=forms.RadioSelect)
    # Kept within the approval's outcome note (500, with "Rejected by <name>: " before it), so it is never cut.
    comment = forms.CharField(required=False, max_length=300, widget=forms.Textarea(attrs={"rows": 3}),
                              help_text="Required when you reject.")


class RetireForm(forms.Form):
    confirm = forms.CharField(max_length=100, label="Type the agent's name to confirm")
    reason = forms.CharField(max_length=500, required=False, help_text="At most 500 characters.")
