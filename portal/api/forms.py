from django import forms

from portal.api.choices import EXPIRY_CHOICES, TokenScope


class TokenForm(forms.Form):
    name = forms.CharField(max_length=100, help_text="What it is for, e.g. the pipeline that uses it.")
    scopes = forms.MultipleChoiceField(choices=TokenScope.choices, widget=forms.CheckboxSelectMultiple,
                                       help_text="Never more than your role allows.")
    days = forms.TypedChoiceField(label="Expires in", choices=EXPIRY_CHOICES, coerce=int, initial=90)
