"""Who is asking: usernames compared the way people read them, and the client's address.

- `username_key` is the form under which login limits count a username: Unicode NFKC (the form Django's
  login field normalizes to, so `ｐｒｏｂｅ_ｂ` and `probe_b` are one key) and case-folded.
- `username_skeleton` maps each character to the Latin letter it looks like (Unicode's confusables
  data, through `confusable_homoglyphs`), so `pаypal` with a Cyrillic `а` and `paypal` collide.
- `client_address` trusts `X-Forwarded-For` only from the proxies named in `ARENA_TRUSTED_PROXIES`;
  otherwise anyone could pick the address their failed logins count against, or lock out another.
"""

from __future__ import annotations

import ipaddress
import unicodedata
from collections.abc import Iterable
from functools import lru_cache

from confusable_homoglyphs import confusables
from django.conf import settings


def username_key(username: str) -> str:
    """The key that login limits count a username under."""
    return unicodedata.normalize("NFKC", username).casefold().strip()[:150]


def username_skeleton(username: str) -> str:
    """The username as it looks: every confusable character replaced by its Latin look-alike."""
    key = username_key(username)
    found = confusables.is_confusable(key, greedy=True, preferred_aliases=["latin"]) or []
    swaps = {entry["character"]: entry["homoglyphs"][0]["c"] for entry in found if entry["homoglyphs"]}
    return "".join(swaps.get(char, char) for char in key).casefold()


def username_is_mixed_script_look_alike(username: str) -> bool:
    """True for a name mixing scripts with confusable characters (`prоbe` with a Cyrillic `о`)."""
    return bool(confusables.is_dangerous(unicodedata.normalize("NFKC", username)))


@lru_cache(maxsize=8)
def _networks(spec: tuple[str, ...]) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    return tuple(ipaddress.ip_network(item, strict=False) for item in spec)


def _trusted(address: str, networks: Iterable) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in networks)


def client_address(remote: str | None, forwarded_for: str | None) -> str:
    """The client's address: the peer, or, when the peer is a trusted proxy, the nearest address in
    `X-Forwarded-For` that is not one of our proxies (the ones before it are the client's to forge)."""
    remote = remote or "unknown"
    networks = _networks(tuple(settings.ARENA_TRUSTED_PROXIES))
    if not forwarded_for or not _trusted(remote, networks):
        return remote
    hops = [hop.strip() for hop in forwarded_for.split(",") if hop.strip()]
    for hop in reversed(hops):
        if not _trusted(hop, networks):
            return hop[:64]
    return hops[0][:64] if hops else remote
