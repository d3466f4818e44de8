import unicodedata

from django import forms
from django.contrib.auth.forms import UserCreationForm
from django.utils.translation import gettext, gettext_lazy

from gateway.models import Profile
from protocols.aprs.login import LoginError, validate_callsign


class RegistrationForm(UserCreationForm):
    """Django's sign-up form plus an optional callsign, unique across users."""

    callsign = forms.CharField(
        label=gettext_lazy("Callsign"), max_length=9, required=False, help_text=gettext_lazy("optional, without SSID")
    )

    def clean_username(self):
        username = super().clean_username()
        if any(unicodedata.category(c) in ("Cf", "Cc") for c in username):
            raise forms.ValidationError(
                gettext("invisible and direction-changing characters are not allowed in a username")
            )
        return username

    def clean_callsign(self):
        callsign = self.cleaned_data["callsign"].strip().upper()
        if not callsign:
            return ""
        try:
            callsign = validate_callsign(callsign)
        except LoginError:
            raise forms.ValidationError(gettext("not a callsign")) from None
        if "-" in callsign:
            raise forms.ValidationError(gettext("give the callsign without SSID"))
        if Profile.objects.filter(callsign=callsign).exists():
            raise forms.ValidationError(gettext("this callsign is registered already"))
        return callsign

    def save(self, commit=True):
        user = super().save(commit=commit)
        if commit:
            Profile.objects.create(user=user, callsign=self.cleaned_data["callsign"])
        return user
