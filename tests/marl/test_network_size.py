"""A network's size is counted from its spec exactly as build_network would make it."""

from __future__ import annotations

import pytest

from marl.errors import ConfigError
from marl.nets import build_network, network_parameters


@pytest.mark.parametrize(
    ("spec", "shape", "actions"),
    [
        ({"kind": "mlp", "hidden": [128, 128]}, (6, 7, 2), 7),
        ({"kind": "mlp", "hidden": [5]}, (3, 3, 2), 9),
        ({"kind": "cnn", "channels": [32, 16], "hidden": [64]}, (6, 7, 2), 7),
        ({"kind": "cnn", "channels": [8], "hidden": [16, 16], "activation": "tanh"}, (3, 3, 2), 9),
    ],
)
def test_the_count_matches_the_built_network(spec, shape, actions):
    built = build_network(spec, shape, actions)
    assert network_parameters(spec, shape, actions) == sum(p.numel() for p in built.parameters())


def test_a_cnn_needs_board_planes():
    with pytest.raises(ConfigError):
        network_parameters({"kind": "cnn", "channels": [8], "hidden": [8]}, (18,), 9)
