"""Users: sign-up. Logging in and out is Django's own."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError

from arena.identity import username_is_mixed_script_look_alike, username_skeleton
from arena.ratelimit import rate_hit


def user_check_username(*, username: str) -> None:
    """Refuse a name that mixes scripts with look-alike letters, or that looks like a taken one."""
    if username_is_mixed_script_look_alike(username):
        raise ValidationError("this name mixes alphabets with look-alike letters; write it in one alphabet")
    skeleton = username_skeleton(username)
    users = get_user_model().objects
    # Taken ASCII names are found by the index; the few non-ASCII ones are compared by their skeleton.
    others = list(users.filter(username__iexact=skeleton).values_list("username", flat=True)[:1])
    others += users.exclude(username__regex=r"^[\x00-\x7f]*$").values_list("username", flat=True)
    if any(username_skeleton(other) == skeleton for other in others):
        raise ValidationError("this name looks the same as a name already taken; choose another")


def user_create(*, username: str, password: str, client_ip: str = "unknown") -> AbstractBaseUser:
    """Create a user (the form has checked the password's strength and the name's shape).

    Counts one sign-up against the client address's hourly limit, then refuses look-alike names.
    """
    rate_hit(scope="signup", ident=client_ip, limit=settings.ARENA_RATE_SIGNUPS, window=3600, what="sign-ups")
    user_check_username(username=username)
    return get_user_model().objects.create_user(username=username, password=password)
