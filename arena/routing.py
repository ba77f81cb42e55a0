"""WebSocket routes; `arena.asgi` wraps them in origin and session checks."""

from django.urls import path, re_path

from arena import consumers

websocket_urlpatterns = [
    path("ws/matches/<int:match_id>/", consumers.MatchConsumer.as_asgi()),
    path("ws/play/<int:match_id>/", consumers.PlayConsumer.as_asgi()),
    path("ws/runs/<int:run_id>/", consumers.TrainingConsumer.as_asgi()),
    path("ws/agents/<int:agent_id>/", consumers.TrainingConsumer.as_asgi()),
    path("ws/dashboard/", consumers.DashboardConsumer.as_asgi()),
    path("ws/tournaments/<int:tournament_id>/", consumers.CompetitionConsumer.as_asgi()),
    path("ws/leagues/<int:league_id>/", consumers.CompetitionConsumer.as_asgi()),
    # Last: an unknown path gets close code 4404 instead of an error in the router.
    re_path(r"", consumers.NotFoundConsumer.as_asgi()),
]
