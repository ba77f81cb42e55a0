"""URL names are part of the contract: models' get_absolute_url and templates use them."""

from django.contrib import admin
from django.urls import include, path, re_path

from arena.api import api
from arena.views import (
    agents,
    auth,
    checkpoints,
    dashboard,
    games,
    health,
    leagues,
    matches,
    play,
    tokens,
    tournaments,
    training,
)

urlpatterns = [
    path("", dashboard.dashboard, name="dashboard"),
    path("healthz", health.healthz, name="healthz"),
    path("fragments/runs/", dashboard.fragment_runs, name="fragment_runs"),
    path("fragments/matches/", dashboard.fragment_matches, name="fragment_matches"),
    path("games/", games.game_list, name="game_list"),
    path("games/<slug:name>/", games.game_detail, name="game_detail"),
    path("agents/new/", agents.agent_create, name="agent_create"),
    path("agents/<int:pk>/", agents.agent_detail, name="agent_detail"),
    path("agents/<int:pk>/delete/", agents.agent_delete, name="agent_delete"),
    path("agents/<int:pk>/import/", checkpoints.checkpoint_upload, name="checkpoint_upload"),
    path("agents/<int:pk>/train/", training.run_create, name="run_create"),
    re_path(
        r"^checkpoints/(?P<pk>[0-9]+)/download/(?P<part>weights|sidecar)/$",
        checkpoints.checkpoint_download,
        name="checkpoint_download",
    ),
    path("runs/<int:pk>/", training.run_detail, name="run_detail"),
    path("runs/<int:pk>/cancel/", training.run_cancel, name="run_cancel"),
    path("matches/new/", matches.match_create, name="match_create"),
    path("matches/<int:pk>/", matches.match_detail, name="match_detail"),
    path("matches/<int:pk>/replay.json", matches.match_replay, name="match_replay"),
    path("matches/<int:pk>/take-over/", matches.match_take_over, name="match_take_over"),
    path("play/", play.play_new, name="play_new"),
    path("play/<int:pk>/", play.play_detail, name="play_detail"),
    path("play/<int:pk>/rematch/", play.play_rematch, name="play_rematch"),
    path("games/<slug:name>/leaderboard/", games.leaderboard, name="leaderboard"),
    path("tournaments/", tournaments.tournament_list, name="tournament_list"),
    path("tournaments/new/", tournaments.tournament_create, name="tournament_create"),
    path("tournaments/<int:pk>/", tournaments.tournament_detail, name="tournament_detail"),
    path("tournaments/<int:pk>/fragment/", tournaments.tournament_fragment, name="tournament_fragment"),
    path("tournaments/<int:pk>/cancel/", tournaments.tournament_cancel, name="tournament_cancel"),
    path("leagues/", leagues.league_list, name="league_list"),
    path("leagues/new/", leagues.league_create, name="league_create"),
    path("leagues/<int:pk>/", leagues.league_detail, name="league_detail"),
    path("leagues/<int:pk>/fragment/", leagues.league_fragment, name="league_fragment"),
    path("leagues/<int:pk>/settings/", leagues.league_update, name="league_update"),
    path("leagues/<int:pk>/tick/", leagues.league_tick_now, name="league_tick_now"),
    path("accounts/signup/", auth.signup, name="signup"),
    path("accounts/tokens/", tokens.token_list, name="token_list"),
    path("accounts/tokens/new/", tokens.token_create, name="token_create"),
    path("accounts/tokens/<int:pk>/revoke/", tokens.token_revoke, name="token_revoke"),
    path("accounts/login/", auth.RateLimitedLoginView.as_view(), name="login"),  # before the include
    path("accounts/", include("django.contrib.auth.urls")),
    path("admin/", admin.site.urls),
    path("api/", api.urls),
]
