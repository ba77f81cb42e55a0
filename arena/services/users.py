"""Users: sign-up. Logging in and out is Django's own."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser


def user_create(*, username: str, password: str) -> AbstractBaseUser:
    """Create a user; the caller has validated the username and the password (UserCreationForm)."""
    return get_user_model().objects.create_user(username=username, password=password)
