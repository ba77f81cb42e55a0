"""Accounts: sign up, and log in with a limit on failed attempts, per IP and username and per IP
(counted in Redis)."""

from __future__ import annotations

import contextlib

from django.conf import settings
from django.contrib.auth import login
from django.contrib.auth.forms import AuthenticationForm, UserCreationForm
from django.contrib.auth.views import LoginView
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from arena.identity import username_key
from arena.ratelimit import RateLimited, client_ip, rate_check, rate_hit
from arena.services.users import user_create


class RateLimitedAuthenticationForm(AuthenticationForm):
    """Refuses before checking the password once an IP+username (or an IP) failed too often."""

    def _limits(self) -> list[tuple[str, str, int]]:
        ip = client_ip(self.request) if self.request else "unknown"
        # The key of the name the login field will look up: `ｐｒｏｂｅ_ｂ` counts as `probe_b`.
        username = username_key(str(self.data.get("username") or ""))
        return [
            ("login", f"{ip}|{username}", settings.ARENA_RATE_LOGIN_FAILURES),
            ("login-ip", ip, settings.ARENA_RATE_LOGIN_IP_FAILURES),
        ]

    def clean(self):
        limits = self._limits()
        for scope, ident, limit in limits:
            # Checked before authenticate(): a locked-out guesser learns nothing, right or wrong.
            rate_check(scope=scope, ident=ident, limit=limit, what="failed logins")
        try:
            return super().clean()
        except ValidationError:
            for scope, ident, limit in limits:
                # This failure is reported as a bad password; the next attempt is the one refused.
                with contextlib.suppress(RateLimited):
                    rate_hit(scope=scope, ident=ident, limit=limit, what="failed logins")
            raise


class RateLimitedLoginView(LoginView):
    authentication_form = RateLimitedAuthenticationForm

    def form_invalid(self, form) -> HttpResponse:
        response = super().form_invalid(form)
        errors = form.errors.as_data().get("__all__", [])
        if any(isinstance(error, RateLimited) for error in errors):
            response.status_code = 429
        return response


def signup(request: HttpRequest) -> HttpResponse:
    form = UserCreationForm(request.POST or None)
    status = 200
    if request.method == "POST" and form.is_valid():
        try:
            user = user_create(
                username=form.cleaned_data["username"],
                password=form.cleaned_data["password1"],
                client_ip=client_ip(request),
            )
        except RateLimited as exc:
            form.add_error(None, exc)
            status = 429
        except ValidationError as exc:
            form.add_error("username", exc)
        else:
            login(request, user, backend="django.contrib.auth.backends.ModelBackend")
            return redirect("dashboard")
    return render(request, "registration/signup.html", {"form": form}, status=status)
