"""URL names are part of the contract: models' get_absolute_url and templates use them."""

from django.contrib import admin
from django.urls import include, path, re_path

from arena.views import agents, matches, pages, runs

urlpatterns = [
    path("", pages.dashboard, name="dashboard"),
    path("fragments/runs/", pages.fragment_runs, name="fragment_runs"),
    path("fragments/matches/", pages.fragment_matches, name="fragment_matches"),
    path("games/", pages.game_list, name="game_list"),
    path("games/<slug:name>/", pages.game_detail, name="game_detail"),
    path("agents/new/", agents.agent_create, name="agent_create"),
    path("agents/<int:pk>/", agents.agent_detail, name="agent_detail"),
    path("agents/<int:pk>/delete/", agents.agent_delete, name="agent_delete"),
    path("agents/<int:pk>/train/", runs.run_create, name="run_create"),
    re_path(
        r"^checkpoints/(?P<pk>[0-9]+)/download/(?P<part>weights|sidecar)/$",
        agents.checkpoint_download,
        name="checkpoint_download",
    ),
    path("runs/<int:pk>/", runs.run_detail, name="run_detail"),
    path("runs/<int:pk>/cancel/", runs.run_cancel, name="run_cancel"),
    path("matches/new/", matches.match_create, name="match_create"),
    path("matches/<int:pk>/", matches.match_detail, name="match_detail"),
    path("matches/<int:pk>/replay.json", matches.match_replay, name="match_replay"),
    path("accounts/signup/", pages.signup, name="signup"),
    path("accounts/", include("django.contrib.auth.urls")),
    path("admin/", admin.site.urls),
    path("api/", include("arena.api")),
]
