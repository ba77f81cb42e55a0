"""HTML forms. They check shapes; the services check meaning and raise ValidationError."""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings

from arena.models import Agent, Checkpoint, Game, League, Tournament
from arena.validation import JSONObjectField
from marl.games import GAMES


def opening_plies_field(help_text: str) -> forms.IntegerField:
    """How many random plies an agent game starts from (the match and tournament forms share it)."""
    return forms.IntegerField(required=False, min_value=0, max_value=40, help_text=help_text)


def hands_field() -> forms.IntegerField:
    """The hands of a poker match (the match and tournament forms share it); the service checks it."""
    return forms.IntegerField(
        required=False,
        min_value=1,
        help_text="poker: hands per match, even (each deal twice, seats swapped); blank: the game's 200",
    )


def temperature_field() -> forms.FloatField:
    """Softmax sampling for checkpoints' moves; 0 keeps them greedy."""
    return forms.FloatField(
        required=False,
        min_value=0,
        max_value=10,
        initial=0,
        help_text="above 0 checkpoints sample their moves",
    )


class AgentForm(forms.Form):
    game = forms.ModelChoiceField(queryset=Game.objects.all(), to_field_name="name", empty_label=None)
    name = forms.CharField(max_length=80)
    algorithm = forms.ChoiceField(choices=Agent.ALGORITHMS)
    seat = forms.ChoiceField(required=False, help_text="the seat it learns; every seat learns by self-play")
    description = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        games = list(Game.objects.all())
        # Only the chosen game's seats (posted, asked for in the URL, else the first game's); the page's
        # script refills the list from `seats_by_game` when another game is picked.
        wanted = self.data.get("game") if self.is_bound else self.initial.get("game")
        game = next((g for g in games if g.name == wanted), games[0] if games else None)
        self.seats_by_game = {g.name: [[s, seat_label(g, s)] for s in g.seats] for g in games}
        self.fields["seat"].choices = [("", "every seat")] + [
            (s, label) for s, label in self.seats_by_game.get(game.name if game else "", [])
        ]


class RunForm(forms.Form):
    env_steps = forms.IntegerField()
    seed = forms.IntegerField(required=False, min_value=0)
    extra = JSONObjectField(
        required=False,
        label="More settings (JSON)",
        help_text='other training settings, e.g. {"lr": 0.001}',
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Built here, not at import, so the limit follows the settings (tests override it).
        self.fields["env_steps"] = forms.IntegerField(
            min_value=100,
            max_value=settings.ARENA_MAX_TRAIN_STEPS,
            initial=20_000,
            help_text="environment steps to train",
        )

    def clean_extra(self) -> dict[str, Any]:
        extra = self.cleaned_data.get("extra") or {}
        if not isinstance(extra, dict):
            raise forms.ValidationError("must be a JSON object")
        return extra

    def config(self) -> dict[str, Any]:
        config = {**self.cleaned_data["extra"], "env_steps": self.cleaned_data["env_steps"]}
        if self.cleaned_data.get("seed") is not None:
            config["seed"] = self.cleaned_data["seed"]
        return config


def search_field(label: str = "Search") -> forms.IntegerField:
    """Tree search on top of a checkpoint: simulations a move (blank: none), bounded by the settings."""
    return forms.IntegerField(
        required=False,
        min_value=1,
        max_value=settings.ARENA_MAX_SEARCH_SIMULATIONS,
        label=label,
        help_text="a checkpoint plays with mcts:N on top (N simulations a move); blank: no search",
    )


def with_search(spec: str, simulations: int | None) -> str:
    """The seat spec with ` + mcts:N` when a search budget was given (the service checks the rest)."""
    return f"{spec} + mcts:{simulations}" if simulations else spec


def seat_label(game: Game, seat: str) -> str:
    """A seat as people read it: its name, and which one moves first."""
    return f"{seat} (moves first)" if game.seats and seat == game.seats[0] else seat


def checkpoint_label(checkpoint: Checkpoint) -> str:
    """A checkpoint in a picker: agent, version, the seat it learned, owner and training."""
    return (
        f"{checkpoint.agent.name} v{checkpoint.version}, learned {checkpoint.seat} "
        f"({checkpoint.agent.owner}, {checkpoint.env_steps} steps)"
    )


def game_checkpoints(game: Game, seat: str | None = None) -> list[Checkpoint]:
    """The game's newest checkpoints (of active agents), only those learned for `seat` when given."""
    rows = Checkpoint.objects.filter(agent__game=game, agent__archived_at__isnull=True)
    if seat is not None:
        rows = rows.filter(seat=seat)
    return list(rows.select_related("agent__owner").order_by("-created_at")[:200])


def seat_choices(
    game: Game, seat: str | None = None, checkpoints: list[Checkpoint] | None = None
) -> list[tuple[str, Any]]:
    """Reference bots and the newest checkpoints of the game (or `checkpoints`), as seat specs the
    match service reads, grouped by the seat each checkpoint learned (with `seat`: only those learned
    for it, since a checkpoint plays the seat it learned)."""
    from marl.bots import bot_menu

    bots = [(f"bot:{name}", f"bot: {name}") for name in bot_menu(game.name)]
    choices: list[tuple[str, Any]] = [("Reference bots", bots)]
    by_seat: dict[str, list[tuple[str, str]]] = {}
    for cp in game_checkpoints(game, seat) if checkpoints is None else checkpoints:
        by_seat.setdefault(cp.seat, []).append((f"checkpoint:{cp.pk}", checkpoint_label(cp)))
    for learned in game.seats:
        if by_seat.get(learned):
            choices.append((f"Checkpoints that learned {seat_label(game, learned)}", by_seat[learned]))
    return choices


def _learned_seat(game: Game, checkpoint_id: str | None) -> str | None:
    """The seat the game's checkpoint `checkpoint_id` learned; None for a bad or unknown id."""
    if not str(checkpoint_id or "").isdigit():
        return None
    rows = Checkpoint.objects.filter(pk=int(str(checkpoint_id)), agent__game=game)
    return rows.values_list("seat", flat=True).first()


class MatchForm(forms.Form):
    """Two seat pickers for one game (the game is chosen first, by URL), a move delay and a seed."""

    move_delay = forms.FloatField(min_value=0, max_value=10, help_text="seconds between moves, to watch")
    seed = forms.IntegerField(required=False, min_value=0)
    rated = forms.BooleanField(required=False, initial=True)
    opening_plies = opening_plies_field("random plies the game starts from; blank: the game's default")
    temperature = temperature_field()

    def __init__(self, *args: Any, game: Game, checkpoint: str | None = None, **kwargs: Any) -> None:
        """`checkpoint` (an id, from an agent page's link) starts in the seat it learned."""
        super().__init__(*args, **kwargs)
        self.game = game
        self.fields["move_delay"].initial = settings.ARENA_MOVE_DELAY
        learned = _learned_seat(game, checkpoint)
        if game.name in GAMES and GAMES[game.name].hands_per_match > 1:
            self.fields["hands"] = hands_field()
        for seat in game.seats:
            # Each seat lists the checkpoints learned for it: one learned elsewhere would be refused.
            self.fields[f"seat_{seat}"] = forms.ChoiceField(
                label=seat_label(game, seat), choices=seat_choices(game, seat)
            )
            self.fields[f"search_{seat}"] = search_field(f"{seat} search")
            if learned == seat:
                self.fields[f"seat_{seat}"].initial = f"checkpoint:{checkpoint}"

    def seats(self) -> dict[str, str]:
        data = self.cleaned_data
        return {
            seat: with_search(data[f"seat_{seat}"], data.get(f"search_{seat}")) for seat in self.game.seats
        }


class PlayForm(forms.Form):
    """A person's game: the opponent (a reference bot or any checkpoint of the game) and their seat."""

    opponent = forms.ChoiceField()
    seat = forms.ChoiceField(
        label="Your seat", help_text="a checkpoint plays the seat it learned: you take the other one"
    )

    def __init__(self, *args: Any, game: Game, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.game = game
        checkpoints = game_checkpoints(game)
        self.fields["opponent"].choices = seat_choices(game, checkpoints=checkpoints)
        self.fields["search"] = search_field("Opponent's search")
        self.fields["seat"].choices = [(seat, seat_label(game, seat)) for seat in game.seats]
        # A checkpoint plays the seat it learned, so yours is the other one: the default here, and the
        # page's script follows the opponent picked (`learned_seats`: spec -> the seat it plays).
        self.learned_seats = {f"checkpoint:{cp.pk}": cp.seat for cp in checkpoints}
        learned = self.learned_seats.get(str(self.initial.get("opponent") or ""))
        if learned and not self.initial.get("seat"):
            self.initial["seat"] = self._other_seat(learned)

    def _other_seat(self, seat: str) -> str:
        return next((s for s in self.game.seats if s != seat), seat)

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        learned = self.learned_seats.get(str(data.get("opponent") or ""))
        if learned and data.get("seat") == learned:
            other = self._other_seat(learned)
            raise forms.ValidationError(
                f"that checkpoint learned {learned} and plays only {learned}: take {other}, "
                f"or pick a checkpoint that learned {other}"
            )
        return data

    opening = forms.CharField(
        required=False,
        max_length=4000,
        help_text="optional: moves the game starts from, separated by spaces or commas (action indices, or the game's notation such as e2e4)",
    )

    def opponent_spec(self) -> str:
        return with_search(self.cleaned_data["opponent"], self.cleaned_data.get("search"))

    def opening_moves(self) -> list[int | str]:
        """The typed opening's moves (the play service checks them)."""
        words = str(self.cleaned_data.get("opening") or "").replace(",", " ").split()
        return [int(w) if w.isdigit() else w for w in words]


class TournamentForm(forms.Form):
    """A tournament's game, format and participants, one spec a line; the service checks the specs."""

    game = forms.ModelChoiceField(queryset=Game.objects.all(), to_field_name="name", empty_label=None)
    name = forms.CharField(max_length=100, required=False)
    format = forms.ChoiceField(choices=Tournament.FORMATS)
    participants = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=(
            "one per line: checkpoint:<id>, agent:<id>@<version> or bot:<name>; add ' + mcts:N' to a "
            "checkpoint for search on top; a gauntlet's first is the challenger"
        ),
    )
    games_per_pair = forms.IntegerField(min_value=1, initial=2)
    rounds = forms.IntegerField(min_value=1, required=False, help_text="Swiss only")
    batch_size = forms.IntegerField(
        min_value=1, initial=1, help_text="1: each match live; more: batched, faster"
    )
    opening_plies = opening_plies_field("random plies each opening has; blank: the game's default")
    openings = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="or your own: one opening a line, actions separated by commas; each is played twice, seats swapped",
    )
    temperature = temperature_field()
    hands = hands_field()

    def participant_specs(self) -> list[str]:
        """The non-blank lines of the participants box."""
        return [line.strip() for line in self.cleaned_data["participants"].splitlines() if line.strip()]


class LeagueForm(forms.Form):
    """A league's settings, as its owner changes them on the league page."""

    interval_seconds = forms.IntegerField(min_value=10, initial=600)
    env_steps_per_tick = forms.IntegerField(min_value=10, initial=2000)
    pool_size = forms.IntegerField(min_value=1, initial=5)
    pool_bots = forms.BooleanField(
        required=False,
        initial=False,
        help_text="off: bots are evaluation anchors only, never trained against",
    )
    self_play = forms.BooleanField(
        required=False,
        initial=True,
        help_text="members that learn every seat train all seats at once by pure self-play (az always does)",
    )
    eval_search = forms.IntegerField(
        required=False,
        min_value=0,
        initial=0,
        label="Evaluation search",
        help_text="above 0, each new snapshot also plays the anchors with mcts:N on top",
    )
    pfsp_mode = forms.ChoiceField(choices=League.PFSP_MODES)
    pfsp_p = forms.FloatField(initial=2.0)
    eval_games = forms.IntegerField(min_value=1, initial=20)
    status = forms.ChoiceField(choices=League.STATUSES)
    train_overrides = JSONObjectField(required=False, initial=dict, widget=forms.Textarea(attrs={"rows": 2}))
    gating = forms.BooleanField(required=False, initial=False, help_text="a new snapshot must pass an SPRT")
    # Optional: a form without them keeps the league's test settings.
    gate_elo0 = forms.FloatField(required=False, initial=0.0, label="SPRT elo0")
    gate_elo1 = forms.FloatField(required=False, initial=10.0, label="SPRT elo1")
    gate_alpha = forms.FloatField(required=False, initial=0.05, label="SPRT alpha")
    gate_beta = forms.FloatField(required=False, initial=0.05, label="SPRT beta")
    gate_max_pairs = forms.IntegerField(
        required=False, min_value=1, initial=400, label="SPRT game pairs at most"
    )

    def league_settings(self) -> dict[str, Any]:
        """The settings as the league service takes them (no overrides is an empty dict)."""
        data = {name: self.cleaned_data[name] for name in LeagueForm.base_fields}
        data["train_overrides"] = data.get("train_overrides") or {}
        return {name: value for name, value in data.items() if value is not None}


class LeagueCreateForm(LeagueForm):
    """The settings plus game, name and members, picked from the user's own agents."""

    game = forms.ModelChoiceField(queryset=Game.objects.all(), to_field_name="name", empty_label=None)
    name = forms.CharField(max_length=100)
    members = forms.ModelMultipleChoiceField(queryset=Agent.objects.none())

    def __init__(self, *args: Any, user=None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["members"].queryset = Agent.objects.active().filter(owner=user).select_related("game")
