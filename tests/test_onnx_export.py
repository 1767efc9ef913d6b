"""``to_onnx``: the exported file, run by onnxruntime, gives the model's outputs (1e-12 in float64)."""

from __future__ import annotations

import numpy as np
import pytest

from tests.optional import require

torch = require("torch", "torch")
require("onnx", "onnx")
onnxruntime = require("onnxruntime", "onnx")

from autograd_lite.interop import NotSameError, check_onnx  # noqa: E402
from autograd_lite.nn import MLP, RNN  # noqa: E402
from tests.test_interop import trained_mlp  # noqa: E402


@pytest.mark.parametrize(
    ("activation", "sizes"),
    [
        ("relu", [16, 16, 1]),
        ("tanh", [5, 2]),
        ("leaky_relu", [7, 3]),
        ("softplus", [4, 4, 1]),
        ("sigmoid", [3]),
    ],
)
def test_exported_mlps_run_in_onnxruntime_with_the_same_outputs(tmp_path, activation, sizes):
    model = trained_mlp(3, sizes, activation, seed=len(sizes))
    path = model.to_onnx(tmp_path / "model.onnx")
    rng = np.random.default_rng(0)
    for batch in (1, 9):  # any batch size
        assert check_onnx(model, path, rng.normal(scale=20.0, size=(batch, 3))) <= 1e-12


@pytest.mark.parametrize(("activation", "output_activation"), [("tanh", "linear"), ("relu", "softplus")])
def test_an_exported_rnn_takes_any_number_of_steps(tmp_path, activation, output_activation):
    model = RNN(2, 4, 2, activation, output_activation, seed=3)
    path = model.to_onnx(tmp_path / "rnn.onnx")
    rng = np.random.default_rng(1)
    for batch, steps in ((1, 1), (3, 7)):
        assert check_onnx(model, path, rng.normal(size=(batch, steps, 2))) <= 1e-12


def test_a_float32_export_is_checked_at_float32_tolerance(tmp_path):
    model = trained_mlp(2, [8, 1], "tanh", seed=1)
    path = model.to_onnx(tmp_path / "f32.onnx", dtype=torch.float32)
    x = np.random.default_rng(2).normal(size=(4, 2))
    with pytest.raises(NotSameError, match=r"onnxruntime's outputs differ from the model's"):
        check_onnx(model, path, x)
    assert check_onnx(model, path, x, tol=1e-5) <= 1e-5


def test_what_cannot_be_exported_writes_no_file(tmp_path):
    with pytest.raises(ValueError, match=r"has no PyTorch twin"):
        MLP(2, [1], output_activation=lambda v: v * 2, seed=0).to_onnx(tmp_path / "x.onnx")
    assert not (tmp_path / "x.onnx").exists()
