"""Login throttling: too many failed logins for an account, or from an address, and
logins are refused for the rest of the window with a message that says so.

Each login takes an attempt from its account's and its address's counts
*before* the password is checked, with the cache's atomic ``add`` and
``incr`` (Redis when the nodes share one, so every node refuses alike): 50
wrong passwords sent at once get at most ``LOGIN_FAILURE_LIMIT`` checks, as
50 sent one by one do. A count lives ``LOGIN_FAILURE_WINDOW`` seconds from
its first attempt; a successful login clears its account's count and gives
its address back the attempt it took. Both login pages (ours and the
admin's) use ``ThrottledLogin``.
"""

import time

from django.conf import settings
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.forms import AuthenticationForm
from django.contrib.auth.signals import user_logged_in
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.dispatch import receiver
from django.utils.translation import ngettext


def _keys(username, request):
    keys = [f"login-attempts:user:{(username or '').strip().lower()}"]
    address = request.META.get("REMOTE_ADDR") if request is not None else None
    if address:
        keys.append(f"login-attempts:address:{address}")
    return keys


def take_attempt(username, request):
    """Count one login attempt for the account and the address; the seconds until they may
    try again if either is past the limit (0: go on and check the password)."""
    now, window = time.time(), settings.LOGIN_FAILURE_WINDOW
    waits = [0]
    for key in _keys(username, request):
        cache.add(f"{key}:first", now, timeout=window)
        cache.add(key, 0, timeout=window)
        try:
            count = cache.incr(key)
        except ValueError:  # expired between add and incr: a new window
            cache.add(key, 1, timeout=window)
            count = 1
        if count > settings.LOGIN_FAILURE_LIMIT:
            waits.append(cache.get(f"{key}:first", now) + window - now)
    return max(waits)


@receiver(user_logged_in)
def clear_attempts(sender, request, user, **kwargs):
    account, *address = _keys(user.get_username(), request)
    cache.delete_many([account, f"{account}:first"])
    for key in address:
        try:
            cache.decr(key)
        except ValueError:  # the window ended meanwhile
            pass


class ThrottledLogin:
    """Mixin for an authentication form: refuse before checking the password once the limit is reached."""

    def clean(self):
        wait = take_attempt(self.data.get("username"), self.request)
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
