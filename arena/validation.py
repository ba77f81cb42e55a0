"""Checks for JSON that people send: bounded depth, text that every database can store.

`json.loads` raises RecursionError (not ValueError) on a few thousand nested brackets, and a parsed
value can hold a lone UTF-16 surrogate (`"\\ud800"`) or a NUL, which SQLite stores but PostgreSQL's
jsonb and text refuse. Such input is refused here, with a message, before anything stores it.
"""

from __future__ import annotations

import json
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.forms.fields import InvalidJSONInput

MAX_DEPTH = 16


def text_check(text: str, *, what: str) -> None:
    """Refuse a NUL or a lone surrogate in a string."""
    if "\x00" in text:
        raise ValidationError(f"{what} must not contain NUL characters")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise ValidationError(f"{what} contains a lone UTF-16 surrogate, which is not text") from None


def json_check(value: Any, *, what: str, max_depth: int = MAX_DEPTH) -> None:
    """Refuse JSON nested deeper than `max_depth`, or holding text no database can store."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, str):
            text_check(item, what=what)
        elif isinstance(item, dict | list):
            if depth > max_depth:
                raise ValidationError(f"{what} is nested more than {max_depth} levels deep")
            if isinstance(item, dict):
                for key in item:
                    text_check(str(key), what=what)
            stack.extend((child, depth + 1) for child in (item.values() if isinstance(item, dict) else item))


def json_loads(text: str | bytes, *, what: str, max_depth: int = MAX_DEPTH) -> Any:
    """Parse JSON text people sent; ValidationError for anything malformed, too deep or unstorable."""
    try:
        value = json.loads(text)
    except (ValueError, RecursionError):
        raise ValidationError(f"{what} is not valid JSON (or is nested too deeply)") from None
    json_check(value, what=what, max_depth=max_depth)
    return value


class JSONObjectField(forms.JSONField):
    """A form field for a JSON object of settings, checked by `json_check`."""

    def to_python(self, value: Any) -> Any:
        try:
            value = super().to_python(value)
        except RecursionError:
            raise ValidationError("not valid JSON (or nested too deeply)") from None
        if value in (None, ""):
            return {}
        if not isinstance(value, dict):
            raise ValidationError('must be a JSON object, like {"lr": 0.001}')
        json_check(value, what="this setting")
        return value

    def bound_data(self, data: Any, initial: Any) -> Any:
        """Redisplaying refused input parses it again: keep it as the text sent when it is too deep to
        parse or holds what cannot be written out (a lone surrogate)."""
        try:
            value = super().bound_data(data, initial)
            if not isinstance(value, InvalidJSONInput):
                json_check(value, what="this setting")
            return value
        except (RecursionError, ValidationError):
            return InvalidJSONInput(data)
