"""nn: parameters, micrograd defaults and compatibility, seeding, state dicts and files."""

from __future__ import annotations

import json
import math
import os
import random
import statistics

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from autograd_lite import Value
from autograd_lite.nn import MLP, RNN, Layer, Neuron, RNNCell
from autograd_lite.testing import analytic_grad, close, numerical_grad


def test_micrograd_default_mlp_shape():
    model = MLP(2, [16, 16, 1], seed=0)
    assert len(model.parameters()) == 337
    out = model([0.5, -1.0])
    assert isinstance(out, Value)
    hidden, last = model.layers[0].neurons[0], model.layers[-1].neurons[0]
    assert hidden.activation == "relu" and last.activation == "linear"
    assert isinstance(MLP(2, [3, 2], seed=0)([1.0, 2.0]), list)


def test_same_global_seed_gives_micrograds_model_and_numbers():
    micrograd_nn = pytest.importorskip("micrograd.nn")
    random.seed(1337)
    theirs = micrograd_nn.MLP(3, [4, 4, 1])
    random.seed(1337)
    ours = MLP(3, [4, 4, 1])
    assert [p.data for p in ours.parameters()] == [p.data for p in theirs.parameters()]
    x = [0.3, -1.2, 2.0]
    a, b = ours(x), theirs(x)
    a.backward()
    b.backward()
    assert a.data == pytest.approx(b.data, rel=1e-12)
    for p, q in zip(ours.parameters(), theirs.parameters()):
        assert p.grad == pytest.approx(q.grad, rel=1e-9, abs=1e-12)


def test_nonlin_keyword_and_activations():
    assert Neuron(2, nonlin=False, seed=0).activation == "linear"
    assert Neuron(2, nonlin=True, seed=0).activation == "relu"
    for name in ("relu", "tanh", "sigmoid", "leaky_relu", "linear", "softplus"):
        out = Neuron(2, activation=name, seed=1)([0.5, -0.25])
        assert isinstance(out, Value)
    with pytest.raises(ValueError, match="unknown activation 'swish'"):
        Neuron(2, activation="swish")
    with pytest.raises(TypeError, match="not both"):
        Neuron(2, activation="tanh", nonlin=True)


def test_seeding_is_reproducible_and_accepts_a_random():
    a = MLP(2, [8, 1], seed=7).state_dict()
    b = MLP(2, [8, 1], seed=7).state_dict()
    c = MLP(2, [8, 1], seed=random.Random(7)).state_dict()
    d = MLP(2, [8, 1], seed=8).state_dict()
    assert a == b == c and a != d
    with pytest.raises(TypeError, match="seed must be"):
        MLP(2, [1], seed="7")


def test_initialisation_schemes():
    xavier = Layer(50, 30, init="xavier", seed=0)
    bound = math.sqrt(6 / 80)
    weights = [w.data for n in xavier.neurons for w in n.w]
    assert max(map(abs, weights)) <= bound and max(map(abs, weights)) > 0.9 * bound
    he = [w.data for n in Layer(200, 20, init="he", seed=0).neurons for w in n.w]
    assert statistics.pstdev(he) == pytest.approx(math.sqrt(2 / 200), rel=0.1)
    uniform = [w.data for w in Neuron(500, seed=0).w]
    assert -1 <= min(uniform) < -0.9 and 0.9 < max(uniform) <= 1
    with pytest.raises(ValueError, match="unknown init"):
        Neuron(2, init="zeros")


@settings(max_examples=25)
@given(x=st.lists(st.floats(-2, 2), min_size=3, max_size=3), seed=st.integers(0, 1000))
def test_fused_and_unfused_neurons_agree(x, seed):
    fused = MLP(3, [4, 1], activation="tanh", seed=seed)
    chain = MLP(3, [4, 1], activation="tanh", seed=seed, fused=False)
    a, b = fused(x), chain(x)
    a.backward()
    b.backward()
    assert a.data == pytest.approx(b.data, rel=1e-9, abs=1e-12)
    for p, q in zip(fused.parameters(), chain.parameters()):
        assert p.grad == pytest.approx(q.grad, rel=1e-9, abs=1e-12)
    assert a._op == "dot" and b._op == "+"  # linear output: the weighted sum itself


@settings(max_examples=25)
@given(point=st.lists(st.floats(-1.5, 1.5), min_size=5, max_size=5))
def test_mlp_gradients_match_finite_differences(point):
    model = MLP(2, [3, 1], activation="tanh", seed=3)
    params = model.parameters()[:3]

    def f(w0, w1, b, x0, x1):
        saved = [p.data for p in params]
        neuron = model.layers[0].neurons[0]
        neuron.w[0], neuron.w[1], neuron.b = w0, w1, b
        try:
            return model([x0, x1])
        finally:
            for p, v in zip(params, saved):
                p.data = v

    originals = (model.layers[0].neurons[0].w[:], model.layers[0].neurons[0].b)
    try:
        value, analytic = analytic_grad(f, point)
        numeric = numerical_grad(f, point)
    finally:
        model.layers[0].neurons[0].w, model.layers[0].neurons[0].b = originals
    assert all(close(a, n, value) for a, n in zip(analytic, numeric)), (analytic, numeric)


def test_parameter_names_and_labels():
    model = MLP(2, [3, 1], seed=0)
    names = [n for n, _ in model.named_parameters()]
    assert names[:3] == ["layers.0.neurons.0.w.0", "layers.0.neurons.0.w.1", "layers.0.neurons.0.b"]
    assert all(p.label == n for n, p in model.named_parameters())
    assert [p.label for p in Neuron(2, seed=0).parameters()] == ["w.0", "w.1", "b"]


def test_user_labels_are_kept():
    class Scaler(Neuron):
        def __init__(self) -> None:
            super().__init__(1, "linear", seed=0)
            self.b.label = "offset"

    assert Scaler().b.label == "offset"


def test_zero_grad():
    model = MLP(2, [2, 1], seed=0)
    model([1.0, 2.0]).backward()
    assert any(p.grad for p in model.parameters())
    model.zero_grad()
    assert all(p.grad == 0.0 for p in model.parameters())


def test_neuron_checks_input_count():
    with pytest.raises(ValueError, match="expects 2 inputs, got 3"):
        Neuron(2, seed=0)([1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match="at least one input"):
        Neuron(0)


def test_state_dict_round_trip():
    a, b = MLP(2, [4, 1], seed=1), MLP(2, [4, 1], seed=2)
    b.load_state_dict(a.state_dict())
    assert b.state_dict() == a.state_dict()
    assert b([0.1, 0.2]).data == a([0.1, 0.2]).data


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda s: s.pop("layers.0.neurons.0.b"), "missing layers.0.neurons.0.b"),
        (lambda s: s.update(extra=1.0), "unexpected extra"),
        (lambda s: s.update({"layers.0.neurons.1.w.0": [1.0, 2.0]}), "not a finite number"),
        (lambda s: s.update({"layers.0.neurons.1.w.0": "0.5"}), "not a finite number"),
        (lambda s: s.update({"layers.0.neurons.1.w.0": float("nan")}), "not a finite number"),
    ],
)
def test_bad_state_is_rejected_and_model_unchanged(mutate, message):
    model = MLP(2, [4, 1], seed=1)
    before = model.state_dict()
    state = MLP(2, [4, 1], seed=5).state_dict()
    mutate(state)
    with pytest.raises(ValueError, match=message):
        model.load_state_dict(state)
    assert model.state_dict() == before


def test_save_and_load_file(tmp_path):
    path = tmp_path / "model.json"
    a, b = MLP(2, [4, 1], seed=1), MLP(2, [4, 1], seed=2)
    a.save(path)
    document = json.loads(path.read_text())
    assert document["model"] == "MLP" and len(document["parameters"]) == 17
    b.load(path)
    assert b.state_dict() == a.state_dict()
    assert [p.name for p in tmp_path.iterdir()] == ["model.json"]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "not a JSON file"),
        ('{"parameters": {}}', "not an autograd_lite state file"),
        ('{"format": "autograd_lite.state_dict", "version": 1}', 'has no "parameters"'),
        ('{"format": "autograd_lite.state_dict", "parameters": {"w": 1.0}}', "missing"),
        ("[1, 2, 3]", "not an autograd_lite state file"),
    ],
)
def test_bad_files_are_rejected_and_model_unchanged(tmp_path, content, message):
    path = tmp_path / "bad.json"
    path.write_text(content)
    model = MLP(2, [4, 1], seed=1)
    before = model.state_dict()
    with pytest.raises(ValueError, match=message) as info:
        model.load(path)
    assert str(path) in str(info.value)
    assert model.state_dict() == before


def test_a_failed_save_leaves_the_old_file(tmp_path, monkeypatch):
    path = tmp_path / "model.json"
    MLP(2, [4, 1], seed=1).save(path)
    old = path.read_text()

    def crash(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError, match="disk full"):
        MLP(2, [4, 1], seed=2).save(path)
    assert path.read_text() == old
    assert [p.name for p in tmp_path.iterdir()] == ["model.json"]


def test_rnn_backprop_through_time_matches_finite_differences():
    model = RNN(1, 3, seed=4)
    xs = [0.5, -0.3, 0.8, 0.1]

    def f(*ws):
        cell = model.cell.units.neurons[0]
        saved = cell.w[:]
        cell.w[: len(ws)] = list(ws)
        try:
            return model(xs)[-1]
        finally:
            cell.w[:] = saved

    point = [w.data for w in model.cell.units.neurons[0].w]
    value, analytic = analytic_grad(f, point)
    numeric = numerical_grad(f, point)
    assert all(close(a, n, value) for a, n in zip(analytic, numeric)), (analytic, numeric)


def test_truncated_bptt_stops_gradients_at_the_cut():
    model = RNN(1, 2, seed=0)
    xs = [Value(x) for x in (0.5, -0.3, 0.8, 0.1, 0.4, -0.6)]
    model(xs, truncate_every=3)[-1].backward()
    assert all(x.grad == 0.0 for x in xs[:3])
    assert all(x.grad != 0.0 for x in xs[3:])
    for x in xs:
        x.grad = 0.0
    model(xs)[-1].backward()
    assert all(x.grad != 0.0 for x in xs)


def test_rnn_cell_checks_sizes():
    cell = RNNCell(2, 3, seed=0)
    assert len(cell([1.0, 2.0])) == 3
    with pytest.raises(ValueError, match="expects 2 inputs per step, got 1"):
        cell([1.0])
    with pytest.raises(ValueError, match="hidden state of 3, got 2"):
        cell([1.0, 2.0], [0.0, 0.0])
