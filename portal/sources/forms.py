from django import forms

from portal.sources.models import TemplateSource


class SourceForm(forms.ModelForm):
    """A git source. The token and the webhook secret are write-only: never rendered back; left
    empty, they keep what is stored."""

    token = forms.CharField(required=False, widget=forms.PasswordInput(render_value=False),
                            help_text="Personal access or deploy token with read access. Stored encrypted; "
                                      "leave empty to keep the current one.")
    clear_token = forms.BooleanField(required=False, label="Remove the stored token")
    webhook_secret = forms.CharField(required=False, widget=forms.PasswordInput(render_value=False),
                                     help_text="Shared secret of the push webhook (GitHub: the webhook's secret; "
                                               "GitLab: its token). Leave empty to keep the current one.")

    class Meta:
        model = TemplateSource
        fields = ["name", "url", "ref", "folder", "username", "sync_minutes", "commit_url_template", "enabled"]

    def clean_name(self):
        name = self.cleaned_data["name"]
        if name == "builtin":
            raise forms.ValidationError("This name is the built-in folder's.")
        return name

    def clean_url(self):
        url = self.cleaned_data["url"].strip()
        if not url:
            raise forms.ValidationError("Give the repository's clone URL.")
        return url
