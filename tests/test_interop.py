"""PyTorch, safetensors and ONNX: exports of trained models equal to 1e-12, round trips, clear errors."""

from __future__ import annotations

import random

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.optional import require

torch = require("torch", "torch")
require("safetensors")

from torch import nn  # noqa: E402

from autograd_lite import Value  # noqa: E402
from autograd_lite.interop import (  # noqa: E402
    NotSameError,
    TorchRNN,
    assert_same,
    load_safetensors,
    save_safetensors,
    to_torch,
)
from autograd_lite.nn import MLP, RNN, Layer, from_torch  # noqa: E402
from autograd_lite.optim import SGD  # noqa: E402

ACTIVATIONS = ["relu", "tanh", "sigmoid", "leaky_relu", "softplus"]


def trained_mlp(nin: int, sizes: list[int], activation: str, seed: int, steps: int = 5) -> MLP:
    """An MLP after a few SGD steps on random data: weights that are not the initial ones."""
    model = MLP(nin, sizes, activation=activation, seed=seed)
    rng = random.Random(seed)
    X = [[rng.uniform(-2, 2) for _ in range(nin)] for _ in range(8)]
    opt = SGD(model.parameters(), lr=0.05)
    for _ in range(steps):
        model.zero_grad()
        outs = [model(x) for x in X]
        flat = [o for out in outs for o in (out if isinstance(out, list) else [out])]
        (Value.sum(o * o for o in flat) / len(flat)).backward()
        opt.step()
    return model


# -- exports equal to 1e-12: values and every gradient ----------------------------------


@settings(max_examples=15, deadline=None)
@given(
    activation=st.sampled_from(ACTIVATIONS),
    output_activation=st.sampled_from(["linear", *ACTIVATIONS]),
    nin=st.integers(1, 4),
    sizes=st.lists(st.integers(1, 9), min_size=0, max_size=3),
    nout=st.integers(1, 3),
    seed=st.integers(0, 10**6),
)
def test_trained_mlps_export_with_the_same_outputs_and_gradients(
    activation, output_activation, nin, sizes, nout, seed
):
    model = trained_mlp(nin, [*sizes, nout], activation, seed)
    for layer in model.layers[-1:]:
        for neuron in layer.neurons:
            neuron.activation = output_activation
    twin = model.to_torch()
    assert all(p.dtype == torch.float64 for p in twin.parameters())
    rng = np.random.default_rng(seed)
    X, Y = rng.normal(scale=3.0, size=(12, nin)), rng.normal(size=(12, nout))
    report = assert_same(model, twin, X, Y)
    assert report.n_gradients == len(model.parameters())
    assert max(report.outputs, report.loss, report.gradients) <= 1e-12
    assert_same(model, twin, X, Y, loss=lambda o, t: (1 - t * o).relu())
    assert_same(model, twin, torch.tensor(X))  # no targets: the mean of the outputs


@pytest.mark.parametrize("activation", ["tanh", "relu"])
@pytest.mark.parametrize("output_activation", ["linear", "sigmoid", "leaky_relu"])
def test_a_trained_rnn_exports_with_the_same_outputs_and_gradients(activation, output_activation):
    model = RNN(2, 5, 3, activation, output_activation, seed=7)
    xs = np.random.default_rng(0).normal(size=(4, 6, 2))
    for p in model.parameters():  # "trained": moved off the initial values
        p.data += 0.1 * np.sin(p.data * 7)
    twin = model.to_torch()
    assert isinstance(twin, TorchRNN)
    report = assert_same(model, twin, xs, np.zeros((4, 18)))
    assert report.n_gradients == len(model.parameters()) + 5  # bias_hh_l0: the bias's gradient again
    assert report.gradients <= 1e-12


def test_an_rnn_with_one_input_takes_sequences_of_numbers():
    model = RNN(1, 3, seed=0)
    assert_same(model, model.to_torch(), [[0.5, -1.0, 2.0], [0.0, 1.0, 1.5]])


def test_names_map_as_documented():
    model = MLP(2, [3, 1], seed=0)
    twin = model.to_torch()
    assert [name for name, _ in twin.named_parameters()] == ["0.weight", "0.bias", "2.weight", "2.bias"]
    assert twin[0].weight[2, 1].item() == model.layers[0].neurons[2].w[1].data
    assert twin[2].bias[0].item() == model.layers[1].neurons[0].b.data
    rnn = RNN(2, 3, seed=0)
    names = [name for name, _ in rnn.to_torch().named_parameters()]
    assert names == ["cell.weight_ih_l0", "cell.weight_hh_l0", "cell.bias_ih_l0", "cell.bias_hh_l0",
                     "readout.weight", "readout.bias"]  # fmt: skip
    weights = rnn.to_torch().cell.weight_hh_l0
    assert weights[1, 2].item() == rnn.cell.units.neurons[1].w[2 + 2].data


def test_float32_export_is_close_and_assert_same_reports_it():
    model = trained_mlp(2, [16, 16, 1], "tanh", 1)
    twin = model.to_torch(dtype=torch.float32)
    assert all(p.dtype == torch.float32 for p in twin.parameters())
    X = np.random.default_rng(0).normal(size=(5, 2))
    with pytest.raises(NotSameError, match=r"differ by more than 1e-12: outputs differ by at most"):
        assert_same(model, twin, X)
    assert assert_same(model, twin, X, tol=1e-5).outputs < 1e-5


def test_assert_same_names_the_largest_difference_and_touches_no_grad():
    model = MLP(2, [4, 1], seed=0)
    twin = model.to_torch()
    with torch.no_grad():
        twin[0].weight[3, 1] += 1e-6
    model.layers[0].neurons[3].w[1].grad = 5.0
    with pytest.raises(NotSameError) as info:
        assert_same(model, twin, [[0.5, 1.0], [1.0, -2.0]])
    assert "layers.0.neurons.3.w.1" in str(info.value) or "outputs" in str(info.value)
    assert model.layers[0].neurons[3].w[1].grad == 5.0
    assert all(p.grad is None for p in twin.parameters())


# -- round trips ---------------------------------------------------------------------


@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_mlp_round_trips_through_torch(activation):
    model = trained_mlp(3, [5, 4, 2], activation, 3)
    back = from_torch(model.to_torch())
    assert isinstance(back, MLP) and back.state_dict() == model.state_dict()
    assert [n.activation for layer in back.layers for n in layer.neurons] == [
        n.activation for layer in model.layers for n in layer.neurons
    ]


def test_rnn_round_trips_through_torch_adding_the_two_biases():
    model = RNN(2, 4, 2, "relu", "tanh", seed=2)
    twin = model.to_torch()
    back = from_torch(twin)
    assert isinstance(back, RNN) and back.state_dict() == model.state_dict()
    with torch.no_grad():
        twin.cell.bias_hh_l0 += 0.25
    moved = from_torch(twin)
    assert [n.b.data for n in moved.cell.units.neurons] == [n.b.data + 0.25 for n in model.cell.units.neurons]


def test_a_hand_written_sequential_comes_in_and_trains_to_the_same_numbers():
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(2, 8), nn.Tanh(), nn.Linear(8, 8), nn.ReLU(), nn.Linear(8, 1)).double()
    model = from_torch(net)
    assert isinstance(model, MLP)
    assert [layer.neurons[0].activation for layer in model.layers] == ["tanh", "relu", "linear"]
    assert_same(model, net, np.random.default_rng(1).normal(size=(6, 2)))
    assert isinstance(from_torch(nn.Linear(3, 2)), MLP)


# -- safetensors ------------------------------------------------------------------------


def test_safetensors_files_are_read_by_pytorch_and_back(tmp_path):
    from safetensors.torch import load_file, save_file

    model = trained_mlp(2, [6, 1], "sigmoid", 4)
    path = tmp_path / "model.safetensors"
    model.save_safetensors(path)
    twin = MLP(2, [6, 1], activation="sigmoid", seed=99).to_torch()
    twin.load_state_dict(load_file(path))
    assert_same(model, twin, [[0.1, 0.2], [3.0, -1.0]])
    other = MLP(2, [6, 1], activation="sigmoid", seed=5)
    other.load_safetensors(path)
    assert other.state_dict() == model.state_dict()
    save_file(twin.state_dict(), tmp_path / "from_torch.safetensors")  # written by PyTorch
    third = MLP(2, [6, 1], activation="sigmoid", seed=6)
    load_safetensors(third, tmp_path / "from_torch.safetensors")
    assert third.state_dict() == model.state_dict()


def test_rnn_safetensors_round_trip(tmp_path):
    model = RNN(3, 4, 2, seed=1)
    save_safetensors(model, tmp_path / "rnn.safetensors")
    back = RNN(3, 4, 2, seed=2)
    load_safetensors(back, tmp_path / "rnn.safetensors")
    assert back.state_dict() == model.state_dict()


def test_bad_safetensors_files_are_clear_errors_and_change_nothing(tmp_path):
    model = MLP(2, [3, 1], seed=0)
    before = model.state_dict()
    path = tmp_path / "other.safetensors"
    MLP(2, [4, 1], seed=0).save_safetensors(path)
    with pytest.raises(ValueError, match=r"the file's MLP is 2 -> 4 relu, 4 -> 1 linear; this MLP is 2 -> 3"):
        model.load_safetensors(path)
    RNN(2, 3, seed=0).save_safetensors(path)
    with pytest.raises(ValueError, match=r"holds a RNN, this is a MLP"):
        model.load_safetensors(path)
    from safetensors.numpy import save_file

    save_file({"0.weight": np.zeros((3, 2)), "0.bias": np.zeros(3), "2.weight": np.zeros((1, 2))}, path)
    with pytest.raises(
        ValueError, match=r"missing 2.bias; wrong shape: 2.weight \(1, 2\) \(expected \(1, 3\)\)"
    ) as info:
        model.load_safetensors(path)
    assert str(info.value).startswith(str(path))
    save_file({"0.weight": np.full((3, 2), np.nan), "0.bias": np.zeros(3), "2.weight": np.zeros((1, 3)),
               "2.bias": np.zeros(1)}, path)  # fmt: skip
    with pytest.raises(ValueError, match=r"not finite: layers.0.neurons.0.w.0=nan"):
        model.load_safetensors(path)
    path.write_text("not a safetensors file")
    with pytest.raises(ValueError, match=r"not a safetensors file"):
        model.load_safetensors(path)
    assert model.state_dict() == before


def test_a_non_finite_model_is_not_saved_and_the_old_file_stays(tmp_path):
    path = tmp_path / "m.safetensors"
    model = MLP(2, [2, 1], seed=0)
    model.save_safetensors(path)
    saved = path.read_bytes()
    model.layers[0].neurons[0].b.data = float("inf")
    with pytest.raises(ValueError, match=r"not saved: parameters not finite \(layers.0.neurons.0.b\)"):
        model.save_safetensors(path)
    assert path.read_bytes() == saved and list(tmp_path.iterdir()) == [path]


# -- clear errors --------------------------------------------------------------------------


def test_what_cannot_be_exported_is_a_clear_error():
    with pytest.raises(
        ValueError, match=r"activation 'custom:.*' has no PyTorch twin; exportable activations"
    ):
        MLP(2, [3, 1], activation=lambda v: v.tanh() * 2, seed=0).to_torch()
    mixed = MLP(2, [3, 1], seed=0)
    mixed.layers[0].neurons[1].activation = "tanh"
    with pytest.raises(ValueError, match=r"layer layers.0: its neurons have different activations"):
        mixed.to_torch()
    with pytest.raises(ValueError, match=r"RNN cell: activation 'sigmoid' has no PyTorch twin"):
        RNN(2, 3, activation="sigmoid", seed=0).to_torch()
    with pytest.raises(TypeError, match=r"PyTorch export takes an MLP or an RNN, got Layer"):
        to_torch(Layer(2, 3, seed=0))
    with pytest.raises(TypeError, match=r"dtype must be a floating torch.dtype"):
        MLP(2, [1], seed=0).to_torch(dtype=torch.int64)


@pytest.mark.parametrize(
    ("module", "message"),
    [
        (nn.Sequential(nn.Linear(2, 3), nn.Dropout(0.5)), r"module '1' of the Sequential is Dropout"),
        (nn.Sequential(nn.Linear(2, 3), nn.LeakyReLU(0.2)), r"LeakyReLU\(negative_slope=0.2\), which has no"),
        (nn.Sequential(nn.Linear(2, 3), nn.Softplus(beta=2)), r"Softplus\(beta=2"),
        (nn.Sequential(nn.Linear(2, 3, bias=False)), r"a Linear without a bias"),
        (nn.Sequential(nn.ReLU(), nn.Linear(2, 3)), r"does not follow a Linear layer"),
        (nn.Sequential(nn.Linear(2, 3), nn.Tanh(), nn.ReLU()), r"module '2'.*does not follow a Linear"),
        (nn.Sequential(nn.Linear(2, 3), nn.Linear(4, 1)), r"gives 3 numbers, the next .* takes 4"),
        (nn.Sequential(), r"has no Linear layer"),
        (nn.Conv1d(1, 1, 3), r"understands an nn.Sequential .* got Conv1d"),
    ],
)
def test_what_cannot_be_imported_is_a_clear_error(module, message):
    with pytest.raises((ValueError, TypeError), match=message):
        from_torch(module)


def test_assert_same_refuses_another_architecture():
    with pytest.raises(
        ValueError, match=r"assert_same: the PyTorch module \(MLP: 2 -> 4 relu, 4 -> 1 linear\)"
    ):
        assert_same(MLP(2, [3, 1], seed=0), MLP(2, [4, 1], seed=0).to_torch(), [[0.0, 0.0]])
    model = MLP(2, [3, 1], seed=0)
    with pytest.raises(ValueError, match=r"each sample has 1 output\(s\), its target 2"):
        assert_same(model, model.to_torch(), [[0.0, 0.0]], targets=[[1.0, 2.0]])
