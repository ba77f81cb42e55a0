"""ASGI entry point: HTTP through Django, WebSockets through Channels behind origin and auth checks.

Outermost, `BodyLimitMiddleware` refuses a body over its route's limit before anything reads it.
"""

import os
import re

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "arena.settings")
django_asgi_app = get_asgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402  (needs the apps loaded first)
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402
from django.conf import settings  # noqa: E402

from arena.bodylimit import BodyLimitMiddleware, route_limit  # noqa: E402
from arena.heap import heap_freeze  # noqa: E402
from arena.routing import websocket_urlpatterns  # noqa: E402

# Checkpoint imports carry a weights file and a training-state file (plus a small sidecar).
_UPLOAD_ROUTES = [re.compile(r"/agents/\d+/import/"), re.compile(r"/api/agents/\d+/checkpoints")]
_UPLOAD_LIMIT = 2 * settings.ARENA_CHECKPOINT_UPLOAD_MAX_BYTES + 2 * 1024 * 1024


def _limit_for(path: str) -> int:
    return route_limit(
        path, default=settings.ARENA_BODY_MAX_BYTES, upload=_UPLOAD_LIMIT, upload_routes=_UPLOAD_ROUTES
    )


routed = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        "websocket": AllowedHostsOriginValidator(AuthMiddlewareStack(URLRouter(websocket_urlpatterns))),
    }
)
application = BodyLimitMiddleware(routed, limit_for=_limit_for)

# The app's modules live as long as the process: out of the collector's full passes (`arena.heap`).
heap_freeze()
