"""Server-rendered pages, one module per feature. Views are thin: forms check shapes, services write."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest


def error_report(request: HttpRequest, exc: Exception) -> None:
    """A service's refusal (ValidationError or PermissionDenied) as an error message on the next page."""
    text = "; ".join(exc.messages) if isinstance(exc, ValidationError) else str(exc)
    messages.error(request, text)
