"""A user's own API tokens: list (never the secret), issue, revoke."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Router

from arena.api.core import WRITE_AUTH, WRITE_DOCS, WRITE_ERRORS, Id, Input, text
from arena.models import ApiToken

router = Router(tags=["tokens"])


class TokenIn(Input):
    name: text(80, min_length=1) = "default"


def token_json(token: ApiToken) -> dict[str, Any]:
    return {
        "id": token.pk,
        "name": token.name,
        "created_at": token.created_at.isoformat(),
        "last_used_at": token.last_used_at.isoformat() if token.last_used_at else None,
    }


@router.get(
    "/tokens",
    auth=WRITE_AUTH,
    response={200: list[dict[str, Any]], **WRITE_ERRORS},
    summary="List your API tokens",
)
def token_list(request: HttpRequest) -> list[dict[str, Any]]:
    return [token_json(t) for t in request.user.api_tokens.order_by("-created_at")]


@router.post(
    "/tokens",
    auth=WRITE_AUTH,
    response={201: dict[str, Any], **WRITE_ERRORS},
    openapi_extra=WRITE_DOCS,
    summary="Issue an API token",
    description="The key is in this answer only; send it as `Authorization: Token <key>`. "
    "Every token stops working when its owner's password changes.",
)
def token_create(request: HttpRequest, payload: TokenIn | None = None) -> tuple[int, dict[str, Any]]:
    token, key = ApiToken.issue(user=request.user, name=payload.name if payload else "default")
    return 201, {**token_json(token), "token": key}


@router.delete(
    "/tokens/{pk}",
    auth=WRITE_AUTH,
    response={200: dict[str, Any], **WRITE_ERRORS},
    openapi_extra=WRITE_DOCS,
    summary="Revoke one of your API tokens",
)
def token_delete(request: HttpRequest, pk: Id) -> dict[str, Any]:
    request.user.api_tokens.get(pk=pk).delete()  # another user's token is simply not found
    return {"deleted": pk}
