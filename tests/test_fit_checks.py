"""fit() checks its input before anything changes, and stops loudly on nan or inf.

Each case from issue 13 ("Training input"): NumPy arrays, a negative batch
size, a validation split that leaves nothing to train on, an infinite
learning rate; and training that turns non-finite stops with a
``NonFiniteError`` naming the epoch and the first sample, the model put back
to its weights at the end of the last complete epoch.
"""

from __future__ import annotations

import math
import random

import pytest

from autograd_lite import Value
from autograd_lite.data import make_moons, make_xor
from autograd_lite.nn import MLP, Module
from autograd_lite.optim import SGD, Adam
from autograd_lite.train import NonFiniteError, evaluate, fit, predict

np = pytest.importorskip("numpy")


def xor_pm1():
    X, y = make_xor()
    return X, [2.0 * t - 1 for t in y]


# -- lists or NumPy arrays -------------------------------------------------------------


@pytest.mark.parametrize("dtype", ["float64", "int64"])
def test_numpy_arrays_train_exactly_as_lists(dtype):
    X, y = make_moons(30, seed=1)
    if dtype == "int64":
        X = [[round(a * 4), round(b * 4)] for a, b in X]
    as_lists = fit(MLP(2, [4, 1], seed=0), X, y, loss="bce", epochs=5, batch_size=8)
    as_arrays = fit(
        MLP(2, [4, 1], seed=0),
        np.array(X, dtype=dtype),
        np.array(y, dtype=dtype),
        loss="bce",
        epochs=5,
        batch_size=8,
    )
    assert as_arrays.loss == as_lists.loss and as_arrays.accuracy == as_lists.accuracy


def test_float32_and_bool_arrays_train_with_python_floats():
    X, y = make_moons(30, seed=1)
    model = MLP(2, [4, 1], seed=0)
    history = fit(model, np.array(X, dtype=np.float32), np.array(y, dtype=bool), loss="bce", epochs=3)
    assert history.epochs == 3 and all(type(p.data) is float for p in model.parameters())


def test_column_targets_are_the_same_as_flat_ones():
    X, y = xor_pm1()
    flat = fit(MLP(2, [4, 1], seed=0), X, y, loss="hinge", epochs=4)
    column = fit(MLP(2, [4, 1], seed=0), np.array(X), np.array(y).reshape(-1, 1), loss="hinge", epochs=4)
    assert column.loss == flat.loss and column.accuracy == flat.accuracy


def test_2d_targets_train_a_model_with_several_outputs():
    X, _ = make_moons(20, seed=2)
    Y = [[a + b, a - b] for a, b in X]  # two regression targets per sample
    model = MLP(2, [8, 2], seed=0)
    history = fit(
        model, np.array(X), np.array(Y), loss="mse", optimizer=Adam(model.parameters(), lr=0.02), epochs=40
    )
    assert history.loss[-1] < 0.5 * history.loss[0]
    by_hand = sum((o.data - t) ** 2 for x, ts in zip(X, Y) for o, t in zip(model(x), ts)) / (2 * len(X))
    assert evaluate(model, X, Y, loss="mse")[0] == pytest.approx(by_hand)


def test_cross_entropy_takes_float_labels_that_are_whole_numbers():
    X, y = make_moons(20, seed=2)
    ints = fit(MLP(2, [4, 2], seed=0), X, y, loss="cross_entropy", epochs=3)
    floats = fit(
        MLP(2, [4, 2], seed=0), np.array(X), np.array(y, dtype=float), loss="cross_entropy", epochs=3
    )
    assert floats.loss == ints.loss


# -- refused up front, naming the argument and the value, the model untouched -------------


def _bad_samples():
    X, y = xor_pm1()
    return [
        ({"batch_size": -1}, ValueError, r"batch_size must be a whole number >= 1 or None.*got -1"),
        ({"batch_size": 0}, ValueError, r"batch_size .* got 0"),
        ({"batch_size": 2.5}, TypeError, r"batch_size .* got 2\.5"),
        ({"batch_size": True}, TypeError, r"batch_size .* got True"),
        (
            {"validation_split": 0.9},
            ValueError,
            r"validation_split=0\.9 holds out 4 of the 4 samples, leaving none",
        ),
        (
            {"validation_split": 1.0},
            ValueError,
            r"validation_split must be a finite number in \[0, 1\), got 1\.0",
        ),
        ({"validation_split": -0.2}, ValueError, r"validation_split .* got -0\.2"),
        ({"validation_split": float("nan")}, ValueError, r"validation_split .* got nan"),
        ({"validation_split": 0.5, "validation_data": (X, y)}, ValueError, "not both"),
        ({"lr": float("inf")}, ValueError, r"fit: lr must be a positive number .* got inf \(not finite\)"),
        ({"lr": float("nan")}, ValueError, r"fit: lr .* got nan"),
        ({"lr": 0.0}, ValueError, r"fit: lr .* got 0\.0"),
        ({"lr": -0.1}, ValueError, r"fit: lr .* got -0\.1"),
        ({"lr": "0.1"}, TypeError, r"fit: lr .* got '0\.1'"),
        ({"epochs": 0}, ValueError, r"epochs must be a whole number >= 1, got 0"),
        ({"epochs": 2.5}, TypeError, r"epochs .* got 2\.5"),
        ({"max_iter": 0}, ValueError, r"max_iter .* got 0"),
        ({"patience": 0}, ValueError, r"patience .* got 0"),
        ({"l2": float("nan")}, ValueError, r"l2 must be a finite number >= 0, got nan"),
        ({"l2": -1.0}, ValueError, r"l2 .* got -1\.0"),
        ({"min_delta": float("inf")}, ValueError, r"min_delta .* got inf"),
        ({"tol": float("nan")}, ValueError, r"tol must be a number or None, got nan"),
        ({"seed": "x"}, TypeError, r"seed must be an int or a random\.Random"),
        ({"loss": "l1"}, ValueError, r"unknown loss 'l1'"),
        ({"optimizer": "adam"}, TypeError, r"optimizer must be an Optimizer"),
        ({"validation_data": ([[0.0, 1.0]], [1.0, -1.0])}, ValueError, r"1 samples but 2 targets"),
        (
            {"validation_data": ([[0.0, float("nan")]], [1.0])},
            ValueError,
            r"validation_data\[0\]\[0\]\[1\] is nan",
        ),
    ]


@pytest.mark.parametrize(("kwargs", "error", "message"), _bad_samples())
def test_bad_arguments_are_refused_naming_them_and_change_nothing(kwargs, error, message):
    X, y = xor_pm1()
    model = MLP(2, [4, 1], seed=0)
    before = model.state_dict()
    with pytest.raises(error, match=message):
        fit(model, X, y, **{"epochs": 3, **kwargs})
    assert model.state_dict() == before


def _bad_data():
    X, y = xor_pm1()
    nan_X = [list(x) for x in X]
    nan_X[2][1] = float("nan")
    return [
        (nan_X, y, {}, ValueError, r"X\[2\]\[1\] is nan, not a finite number"),
        (np.array([[0.0, 1.0], [np.inf, 0.0]]), [1.0, -1.0], {}, ValueError, r"X\[1\]\[0\] is inf"),
        (X, [1.0, -1.0, float("-inf"), 1.0], {}, ValueError, r"y\[2\] is -inf"),
        (X, y[:3], {}, ValueError, r"4 samples but 3 targets"),
        ([], [], {}, ValueError, r"no training data"),
        (np.zeros((0, 2)), np.zeros(0), {}, ValueError, r"no training data"),
        (5, y, {}, TypeError, r"X must be a list or a NumPy array of samples, got 5 \(a int\)"),
        ({"a": 1}, y, {}, TypeError, r"X must be a list or a NumPy array"),
        (np.array(1.0), y, {}, TypeError, r"X must be a list or an array of samples, got a 0-d array"),
        (
            np.ones((4, 2), dtype=complex),
            y,
            {},
            TypeError,
            r"X must hold real numbers, got an array of dtype complex128",
        ),
        (
            [[0.0, 1.0], [1.0, 0.0, 2.0], [1.0, 1.0], [0.0, 0.0]],
            y,
            {},
            ValueError,
            r"X\[1\] has 3 numbers, but the MLP takes 2 inputs",
        ),
        ([0.0, 1.0, 1.0, 0.0], y, {}, ValueError, r"X\[0\] is one number, but the MLP takes 2 inputs"),
        (
            [[0.0, "1"], [1.0, 0.0], [1.0, 1.0], [0.0, 0.0]],
            y,
            {},
            TypeError,
            r"X\[0\]\[1\] must be a number or a list of numbers, got '1'",
        ),
        ([[0.0, 1.0 + 2j]] * 4, y, {}, TypeError, r"X\[0\]\[1\] must be a number"),
        (
            X,
            [1.0, 0.0, 1.0, -1.0],
            {"loss": "hinge"},
            ValueError,
            r"loss='hinge' wants labels -1 or \+1, y\[1\] is 0\.0",
        ),
        (
            X,
            [1.0, 2.0, 0.0, 1.0],
            {"loss": "bce"},
            ValueError,
            r"loss='bce' wants targets in \[0, 1\], y\[1\] is 2\.0",
        ),
        (X, [[1.0, 0.0]] * 4, {}, ValueError, r"y\[0\] is 2 numbers, but the MLP gives 1 outputs"),
        (X, [[[1.0]]] * 4, {}, ValueError, r"y\[0\]\[0\] is a list"),
    ]


@pytest.mark.parametrize(("X", "y", "kwargs", "error", "message"), _bad_data())
def test_bad_data_is_refused_naming_the_sample_and_changes_nothing(X, y, kwargs, error, message):
    model = MLP(2, [4, 1], seed=0)
    before = model.state_dict()
    with pytest.raises(error, match=message):
        fit(model, X, y, epochs=3, batch_size=1, **kwargs)
    assert model.state_dict() == before


@pytest.mark.parametrize(
    ("y", "message"),
    [
        ([0, 1, 1.5, 0], r"wants one class index .* y\[2\] is 1\.5"),
        ([0, 1, 3, 0], r"y\[2\] = 3 is not a class of the MLP's 3 outputs \(0\.\.2\)"),
        ([0, -1, 1, 0], r"y\[1\] is -1"),
    ],
)
def test_bad_class_labels_are_refused_before_training(y, message):
    X, _ = make_xor()
    model = MLP(2, [4, 3], seed=0)
    before = model.state_dict()
    with pytest.raises(ValueError, match=message):
        fit(model, X, y, loss="cross_entropy", batch_size=1)
    assert model.state_dict() == before


def test_a_model_that_is_not_finite_is_refused():
    X, y = xor_pm1()
    model = MLP(2, [4, 1], seed=0)
    model.layers[1].neurons[0].b.data = float("nan")
    with pytest.raises(ValueError, match=r"not finite before training: layers\.1\.neurons\.0\.b is nan"):
        fit(model, X, y)


def test_the_validation_split_keeps_one_sample_to_train_on():
    X, y = xor_pm1()
    history = fit(MLP(2, [4, 1], seed=0), X, y, validation_split=0.7, epochs=2)  # 3 held out, 1 left
    assert history.epochs == 2 and len(history.val_loss) == 2


# -- nan or inf while training: a clear error, the weights of the last complete epoch ------


def train_recording(model, X, y, **kwargs):
    """fit(), recording the weights and the optimizer's state after every epoch."""
    opt = kwargs.pop("optimizer", None) or SGD(model.parameters(), lr=kwargs.pop("lr"))
    states = [(model.state_dict(), opt.state_dict())]
    with pytest.raises(NonFiniteError) as info:
        fit(
            model,
            X,
            y,
            optimizer=opt,
            callback=lambda e, h: states.append((model.state_dict(), opt.state_dict())),
            **kwargs,
        )
    return info.value, states, opt


@pytest.mark.parametrize("compile_mode", [False, "python", "numpy"])
@pytest.mark.parametrize("batch_size", [None, 8])
def test_a_diverging_run_stops_naming_epoch_and_sample_with_the_last_epochs_weights(compile_mode, batch_size):
    X, y = make_moons(40, seed=0)
    model = MLP(2, [8, 1], seed=0)
    error, states, opt = train_recording(
        model, X, y, lr=1e10, epochs=50, batch_size=batch_size, compile=compile_mode
    )
    assert isinstance(error, FloatingPointError)
    assert error.history.stop_reason == "nonfinite" and error.history.epochs == error.epoch
    assert len(states) == error.epoch + 1  # the callback ran after every complete epoch
    assert model.state_dict() == states[-1][0]  # the end of the last complete epoch (or the start)
    assert opt.state_dict() == states[-1][1]
    assert error.history.iterations == opt.steps == len(error.history.lr)
    assert all(math.isfinite(p.data) for p in model.parameters())
    assert f"in epoch {error.epoch} (counting from 0)" in str(error)
    if error.sample is not None:
        assert f"X[{error.sample}] = {X[error.sample]!r}"[:40] in str(error)


def test_adam_state_is_put_back_too():
    X, y = make_moons(40, seed=0)
    model = MLP(2, [8, 1], seed=0)
    opt = Adam(model.parameters(), lr=1e200)
    error, states, _ = train_recording(model, X, y, optimizer=opt, loss="bce", epochs=20)
    assert model.state_dict() == states[-1][0] and opt.state_dict() == states[-1][1]
    assert error.history.stop_reason == "nonfinite"


def test_nan_never_stops_with_tol():
    X, y = xor_pm1()
    model = MLP(2, [8, 1], seed=0)
    with pytest.raises(NonFiniteError) as info:
        fit(model, X, y, loss="hinge", lr=1e200, epochs=50, tol=1e-3)
    assert info.value.history.stop_reason == "nonfinite"


class Root(Module):
    """sqrt(w + x): its derivative is infinite where w + x = 0."""

    def __init__(self):
        self.w = Value(0.0)

    def __call__(self, x):
        return (self.w + x[0]).sqrt()


def test_an_infinite_gradient_names_the_parameter_and_the_first_sample():
    X, y = [[1.0], [4.0], [0.0], [0.0], [9.0]], [1.0, 2.0, 0.5, 0.5, 3.0]
    model = Root()
    with pytest.raises(NonFiniteError, match=r"the gradient of w is -?inf in epoch 0") as info:
        fit(model, X, y, lr=0.01, epochs=3, shuffle=False)
    error = info.value
    assert (error.epoch, error.step, error.sample, error.validation) == (0, 0, 2, False)
    assert "the first sample at fault is X[2] = [0.0], y[2] = 0.5" in str(error)
    assert "back to its weights at the start of training" in str(error)
    assert model.w.data == 0.0 and error.history.epochs == 0


def test_a_validation_loss_that_overflows_names_the_validation_sample():
    X, y = xor_pm1()
    model = MLP(2, [4, 1], seed=0)
    before = model.state_dict()
    val = ([[0.0, 1.0], [1e300, 1e300]], [1.0, -1.0])
    with pytest.raises(NonFiniteError, match=r"validation_data\[0\]\[1\] = \[1e\+300, 1e\+300\]") as info:
        fit(model, X, y, validation_data=val, epochs=5)
    assert info.value.validation and (info.value.sample, info.value.epoch, info.value.step) == (1, 0, 0)
    assert model.state_dict() == before and info.value.history.epochs == 0


@pytest.mark.parametrize(("seed", "held_out"), [(0, False), (6, True), (11, True)])
def test_the_sample_at_fault_is_named_by_its_place_in_X_whichever_side_of_the_split(seed, held_out):
    X, y = make_moons(12, seed=1)
    X[5] = [1e300, -1e300]
    with pytest.raises(NonFiniteError) as info:
        fit(MLP(2, [4, 1], seed=seed), X, y, validation_split=0.25, seed=seed, batch_size=3, epochs=3)
    assert info.value.sample == 5 and "X[5] = [1e+300, -1e+300]" in str(info.value)
    assert info.value.validation is held_out


def test_a_schedule_that_turns_nan_is_named_with_its_step():
    X, y = xor_pm1()
    model = MLP(2, [4, 1], seed=0)
    with pytest.raises(ValueError, match=r"schedule gave nan at step 2"):
        fit(model, X, y, lr=lambda k: 0.1 if k < 2 else float("nan"), epochs=5)


def test_a_schedule_may_reach_zero():
    X, y = xor_pm1()
    history = fit(MLP(2, [4, 1], seed=0), X, y, lr=lambda k: max(0.0, 0.1 - 0.05 * k), epochs=4)
    assert history.lr == [0.1, 0.05, 0.0, 0.0]


def test_seeded_random_source_is_accepted():
    X, y = xor_pm1()
    history = fit(MLP(2, [4, 1], seed=0), X, y, seed=random.Random(3), batch_size=2, epochs=2)
    assert history.epochs == 2


def test_evaluate_and_predict_take_numpy_arrays_and_name_themselves():
    X, y = xor_pm1()
    model = MLP(2, [4, 1], seed=0)
    assert evaluate(model, np.array(X), np.array(y), loss="hinge") == evaluate(model, X, y, loss="hinge")
    assert [p.data for p in predict(model, np.array(X))] == [model(x).data for x in X]
    with pytest.raises(ValueError, match=r"^evaluate: X\[0\]\[1\] is nan"):
        evaluate(model, [[1.0, float("nan")]], [1.0])
