"""API tokens: a bearer secret per user for scripted clients (the browser uses its session)."""

from __future__ import annotations

import hashlib
import secrets

from django.conf import settings
from django.db import models
from django.utils.crypto import constant_time_compare


class ApiToken(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=80, default="default")
    # Only the hash is stored: a leaked DB does not leak working tokens.
    key_hash = models.CharField(max_length=64, unique=True)
    # The user's session auth hash when the token was issued (an HMAC of the password hash): a
    # password change alters it, so every token issued before the change stops working, as
    # Django's sessions do. A token without one is refused.
    password_marker = models.CharField(max_length=128, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.user}: {self.name}"

    @staticmethod
    def hash_key(key: str) -> str:
        return hashlib.sha256(key.encode()).hexdigest()

    @classmethod
    def issue(cls, *, user, name: str = "default") -> tuple[ApiToken, str]:
        """A new token for `user`; the key is returned once and only its hash is kept."""
        key = secrets.token_urlsafe(32)
        token = cls.objects.create(
            user=user, name=name, key_hash=cls.hash_key(key), password_marker=user.get_session_auth_hash()
        )
        return token, key

    def outlived_password(self) -> bool:
        """Whether the user's password changed since this token was issued."""
        return not self.password_marker or not constant_time_compare(
            self.password_marker, self.user.get_session_auth_hash()
        )
