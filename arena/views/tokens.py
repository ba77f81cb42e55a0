"""A signed-in user's API tokens: see them, issue one (its key shown once), revoke one."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_POST

from arena.models import ApiToken

_NAME = forms.CharField(max_length=80, strip=True)  # the column's bound; NUL is refused by Django


def _page(request: HttpRequest, *, new_key: str = "", status: int = 200) -> HttpResponse:
    tokens = request.user.api_tokens.order_by("-created_at")
    context = {"tokens": tokens, "new_key": new_key}
    return render(request, "arena/tokens/list.html", context, status=status)


@require_GET
@login_required
def token_list(request: HttpRequest) -> HttpResponse:
    return _page(request)


@require_POST
@login_required
def token_create(request: HttpRequest) -> HttpResponse:
    try:
        name = _NAME.clean(request.POST.get("name", ""))
    except ValidationError as exc:
        messages.error(request, f"name: {' '.join(exc.messages)}")
        return _page(request, status=400)
    _, key = ApiToken.issue(user=request.user, name=name)
    # The key is rendered in this answer only: never put in a message, a cookie or the session.
    return _page(request, new_key=key, status=201)


@require_POST
@login_required
def token_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    token = get_object_or_404(ApiToken, pk=pk, user=request.user)  # another user's token: 404
    token.delete()
    messages.success(request, f"Token {token.name!r} revoked.")
    return redirect("token_list")
