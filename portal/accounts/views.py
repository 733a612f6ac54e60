from datetime import timedelta

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.views import LoginView
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET
from mozilla_django_oidc.views import OIDCAuthenticationCallbackView

from portal.accounts.backends import password_login_allowed
from portal.accounts.entra import entra_configured


def session_ends_at_max_age(request) -> None:
    """A session ends PORTAL_SESSION_MAX_AGE after sign-in, however active: an absolute expiry, which
    later changes to the session do not push back."""
    request.session.set_expiry(timezone.now() + timedelta(seconds=settings.SESSION_COOKIE_AGE))


class SignInView(LoginView):
    """The sign-in page: "Sign in with Microsoft" when Entra ID is configured, and the password form
    while password sign-in is on (or for a break-glass account)."""

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["entra_enabled"] = entra_configured()
        context["password_enabled"] = settings.PORTAL_PASSWORD_LOGIN
        return context

    def form_valid(self, form):
        response = super().form_valid(form)
        session_ends_at_max_age(self.request)
        return response

    def form_invalid(self, form):
        username = form.data.get("username", "")
        if not password_login_allowed(username):
            messages.error(self.request, "Password sign-in is switched off here: sign in with Microsoft.")
        return super().form_invalid(form)


@require_GET
def no_access(request):
    """Signed in at Entra ID but given no role: say why (the reason is kept in the session)."""
    reason = request.session.get("entra_refusal") or (
        "Signing in with Microsoft did not work. Try again, or ask the platform team.")
    return render(request, "registration/no_access.html", {"reason": reason}, status=403)


class EntraCallbackView(OIDCAuthenticationCallbackView):
    """Entra ID's redirect back, with the code: mozilla-django-oidc signs the user in; the session then
    ends at the portal's maximum age."""

    def login_success(self):
        response = super().login_success()
        session_ends_at_max_age(self.request)
        return response
