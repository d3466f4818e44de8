"""Login throttling: too many failed logins for an account, or from an address, and
logins are refused for the rest of the window with a message that says so.

Failures are counted in Django's cache (Redis when the nodes share one, so every
node refuses alike) for ``LOGIN_FAILURE_WINDOW`` seconds from the first one; a
successful login clears its account's count. Both login pages (ours and the
admin's) use ``ThrottledLogin``; Django's ``user_login_failed`` signal counts.
"""

import time

from django.conf import settings
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.forms import AuthenticationForm
from django.contrib.auth.signals import user_logged_in, user_login_failed
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.dispatch import receiver
from django.utils.translation import ngettext


def _keys(username, request):
    keys = [f"login-failures:user:{(username or '').strip().lower()}"]
    address = request.META.get("REMOTE_ADDR") if request is not None else None
    if address:
        keys.append(f"login-failures:address:{address}")
    return keys


def wait_seconds(username, request):
    """Seconds until this account and address may try again (0: now)."""
    now = time.time()
    waits = [
        first + settings.LOGIN_FAILURE_WINDOW - now
        for count, first in (cache.get(key, (0, now)) for key in _keys(username, request))
        if count >= settings.LOGIN_FAILURE_LIMIT
    ]
    return max([0, *waits])


@receiver(user_login_failed)
def count_failure(sender, credentials, request=None, **kwargs):
    now = time.time()
    for key in _keys(credentials.get("username"), request):
        count, first = cache.get(key, (0, now))
        cache.set(key, (count + 1, first), timeout=max(1, int(first + settings.LOGIN_FAILURE_WINDOW - now)))


@receiver(user_logged_in)
def clear_failures(sender, request, user, **kwargs):
    cache.delete(_keys(user.get_username(), None)[0])


class ThrottledLogin:
    """Mixin for an authentication form: refuse before checking the password once the limit is reached."""

    def clean(self):
        wait = wait_seconds(self.data.get("username"), self.request)
        if wait:
            minutes = max(1, round(wait / 60))
            raise ValidationError(
                ngettext(
                    "Too many failed logins for this account or from this address; try again in %(minutes)d minute.",
                    "Too many failed logins for this account or from this address; try again in %(minutes)d minutes.",
                    minutes,
                )
                % {"minutes": minutes},
                code="throttled",
            )
        return super().clean()


class LoginForm(ThrottledLogin, AuthenticationForm):
    pass


class AdminLoginForm(ThrottledLogin, AdminAuthenticationForm):
    pass
