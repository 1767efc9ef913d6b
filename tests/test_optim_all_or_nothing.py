"""Optimizers check their settings, and a step is all or nothing (issue 13, "Files").

Ctrl-C inside ``step()`` used to leave some weights and some of Adam's
moments updated and the rest not. Every new value is now computed before
any is assigned, and an interruption while assigning puts everything back.
"""

from __future__ import annotations

import pytest

from autograd_lite import Value
from autograd_lite.optim import SGD, Adam

_GRAD = Value.__dict__["grad"]
_DATA = Value.__dict__["data"]


class GradTripwire(Value):
    """A parameter whose grad raises KeyboardInterrupt when read, once armed: Ctrl-C mid-step."""

    __slots__ = ("armed",)

    @property
    def grad(self):
        if getattr(self, "armed", False):
            raise KeyboardInterrupt
        return _GRAD.__get__(self, Value)

    @grad.setter
    def grad(self, value):
        _GRAD.__set__(self, value)


class DataTripwire(Value):
    """A parameter whose data raises KeyboardInterrupt the first time it is set, once armed."""

    __slots__ = ("armed",)

    @property
    def data(self):
        return _DATA.__get__(self, Value)

    @data.setter
    def data(self, value):
        if getattr(self, "armed", False):
            self.armed = False
            raise KeyboardInterrupt
        _DATA.__set__(self, value)


OPTIMIZERS = [
    lambda ps: SGD(ps, lr=0.1, momentum=0.9, weight_decay=0.01),
    lambda ps: Adam(ps, lr=0.1, weight_decay=0.01),
]


def make_params(kind, position):
    values = [1.0, -2.0, 0.5, 3.0]
    return [kind(v) if i == position else Value(v) for i, v in enumerate(values)]


def set_grads(params, grads):
    for p, g in zip(params, grads):
        p.grad = g


def snapshot(params, opt):
    return [p.data for p in params], opt.state_dict()


@pytest.mark.parametrize("make", OPTIMIZERS)
@pytest.mark.parametrize("position", [0, 2, 3])
def test_ctrl_c_while_reading_gradients_changes_nothing(make, position):
    params = make_params(GradTripwire, position)
    opt = make(params)
    set_grads(params, [0.5, -1.0, 0.25, 2.0])
    opt.step()  # some momentum / moments to lose
    set_grads(params, [-0.3, 0.7, 1.5, -0.1])
    before = snapshot(params, opt)
    params[position].armed = True
    with pytest.raises(KeyboardInterrupt):
        opt.step()
    assert snapshot(params, opt) == before
    params[position].armed = False
    opt.step()  # and the next step is the step an uninterrupted optimizer takes
    twin_params = [Value(v) for v in [1.0, -2.0, 0.5, 3.0]]
    twin = make(twin_params)
    set_grads(twin_params, [0.5, -1.0, 0.25, 2.0])
    twin.step()
    set_grads(twin_params, [-0.3, 0.7, 1.5, -0.1])
    twin.step()
    assert snapshot(params, opt) == snapshot(twin_params, twin)


@pytest.mark.parametrize("make", OPTIMIZERS)
@pytest.mark.parametrize("position", [1, 3])
def test_ctrl_c_while_assigning_puts_everything_back(make, position):
    params = make_params(DataTripwire, position)
    opt = make(params)
    set_grads(params, [0.5, -1.0, 0.25, 2.0])
    opt.step()
    before = snapshot(params, opt)
    params[position].armed = True
    with pytest.raises(KeyboardInterrupt):
        opt.step()
    assert snapshot(params, opt) == before


def test_ctrl_c_inside_adams_arithmetic_leaves_its_moments_whole(monkeypatch):
    import autograd_lite.optim as optim

    params = [Value(1.0), Value(2.0), Value(3.0)]
    opt = Adam(params, lr=0.1)
    set_grads(params, [0.1, 0.2, 0.3])
    opt.step()
    before = snapshot(params, opt)
    calls = []

    def sqrt(x):
        calls.append(x)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return x**0.5

    monkeypatch.setattr(optim.math, "sqrt", sqrt)
    with pytest.raises(KeyboardInterrupt):
        opt.step()
    assert snapshot(params, opt) == before and opt.steps == 1


def test_state_dict_round_trip():
    params = [Value(1.0), Value(2.0)]
    opt = Adam(params, lr=0.1)
    set_grads(params, [0.1, 0.2])
    state = opt.state_dict()
    opt.step()
    assert opt.state_dict() != state
    opt.load_state_dict(state)
    assert opt.state_dict() == state
    with pytest.raises(ValueError, match="m must be 2 finite numbers"):
        opt.load_state_dict({**state, "m": [0.0, float("nan")]})


nan, inf = float("nan"), float("inf")


@pytest.mark.parametrize(
    ("make", "error", "message"),
    [
        (
            lambda p: SGD(p, lr=inf),
            ValueError,
            r"SGD: lr must be a positive number .* got inf \(not finite\)",
        ),
        (lambda p: SGD(p, lr=nan), ValueError, r"SGD: lr .* got nan"),
        (lambda p: SGD(p, lr=0), ValueError, r"SGD: lr .* got 0"),
        (lambda p: SGD(p, lr=True), TypeError, r"SGD: lr .* got True \(a bool\)"),
        (lambda p: SGD(p, lr="0.1"), TypeError, r"SGD: lr .* got '0\.1'"),
        (lambda p: SGD(p, momentum=nan), ValueError, r"SGD: momentum must be a number in \[0, 1\), got nan"),
        (lambda p: SGD(p, momentum=1.0), ValueError, r"momentum .* got 1\.0"),
        (
            lambda p: SGD(p, weight_decay=nan),
            ValueError,
            r"SGD: weight_decay must be a finite number >= 0, got nan",
        ),
        (lambda p: SGD(p, weight_decay=inf), ValueError, r"weight_decay .* got inf"),
        (lambda p: SGD(p, weight_decay=-0.1), ValueError, r"weight_decay .* got -0\.1"),
        (lambda p: Adam(p, lr=inf), ValueError, r"Adam: lr .* got inf"),
        (
            lambda p: Adam(p, betas=(0.9, 1.0)),
            ValueError,
            r"Adam: betas\[1\] must be a number in \[0, 1\), got 1\.0",
        ),
        (lambda p: Adam(p, betas=(nan, 0.9)), ValueError, r"Adam: betas\[0\] .* got nan"),
        (lambda p: Adam(p, betas=0.9), ValueError, r"Adam: betas must be a pair"),
        (lambda p: Adam(p, eps=0.0), ValueError, r"Adam: eps must be a finite number > 0, got 0\.0"),
        (lambda p: Adam(p, eps=nan), ValueError, r"Adam: eps .* got nan"),
        (lambda p: Adam(p, weight_decay=nan), ValueError, r"Adam: weight_decay .* got nan"),
    ],
)
def test_settings_must_be_finite_and_in_range(make, error, message):
    with pytest.raises(error, match=message):
        make([Value(1.0)])


@pytest.mark.parametrize("bad", [nan, inf, -0.5, "fast", None])
def test_a_schedule_value_that_is_not_a_finite_rate_is_named_with_its_step(bad):
    p = Value(1.0)
    opt = SGD([p], lr=lambda k: 0.1 if k == 0 else bad)
    p.grad = 1.0
    opt.step()
    with pytest.raises(ValueError, match=rf"SGD: the learning-rate schedule gave {bad!r} at step 1"):
        opt.step()
    assert p.data == pytest.approx(0.9) and opt.steps == 1
