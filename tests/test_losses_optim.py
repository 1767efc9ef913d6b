"""Losses against finite differences and their formulas; optimizers against hand-computed steps."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from autograd_lite import Value
from autograd_lite import losses as L
from autograd_lite.optim import SGD, Adam
from autograd_lite.testing import analytic_grad, close, numerical_grad

scores = st.lists(st.floats(-5, 5), min_size=1, max_size=5)


def check_gradient(f, point):
    value, analytic = analytic_grad(f, point)
    numeric = numerical_grad(f, point)
    for a, n in zip(analytic, numeric):
        assert close(a, n, value), (point, analytic, numeric)


@given(preds=scores, data=st.data())
def test_mse(preds, data):
    targets = data.draw(st.lists(st.floats(-5, 5), min_size=len(preds), max_size=len(preds)))
    loss = L.mse([Value(p) for p in preds], targets)
    assert loss.data == pytest.approx(sum((p - t) ** 2 for p, t in zip(preds, targets)) / len(preds))
    check_gradient(lambda *ps: L.mse(list(ps), targets), preds)


@given(preds=scores, data=st.data())
def test_max_margin(preds, data):
    labels = data.draw(st.lists(st.sampled_from([-1, 1]), min_size=len(preds), max_size=len(preds)))
    loss = L.max_margin([Value(p) for p in preds], labels)
    assert loss.data == pytest.approx(sum(max(0.0, 1 - y * p) for p, y in zip(preds, labels)) / len(preds))
    margins_away_from_kink = all(abs(1 - y * p) > 1e-3 for p, y in zip(preds, labels))
    if margins_away_from_kink:
        check_gradient(lambda *ps: L.max_margin(list(ps), labels), preds)


@given(logits=scores, data=st.data())
def test_binary_cross_entropy_with_logits(logits, data):
    targets = data.draw(st.lists(st.sampled_from([0, 1]), min_size=len(logits), max_size=len(logits)))
    loss = L.binary_cross_entropy_with_logits([Value(z) for z in logits], targets)
    sig = [1 / (1 + math.exp(-z)) for z in logits]
    expected = -sum(y * math.log(s) + (1 - y) * math.log(1 - s) for s, y in zip(sig, targets)) / len(logits)
    assert loss.data == pytest.approx(expected, rel=1e-9)
    check_gradient(lambda *zs: L.binary_cross_entropy_with_logits(list(zs), targets), logits)


@given(logits=st.lists(st.floats(-5, 5), min_size=2, max_size=5), data=st.data())
def test_cross_entropy_and_softmax(logits, data):
    target = data.draw(st.integers(0, len(logits) - 1))
    loss = L.cross_entropy([Value(z) for z in logits], target)
    expected = -math.log(math.exp(logits[target]) / sum(math.exp(z) for z in logits))
    assert loss.data == pytest.approx(expected, rel=1e-9, abs=1e-12)
    check_gradient(lambda *zs: L.cross_entropy(list(zs), target), logits)
    probs = L.softmax(logits)
    assert sum(p.data for p in probs) == pytest.approx(1.0)
    check_gradient(lambda *zs: L.softmax(list(zs))[0], logits)
    check_gradient(lambda *zs: L.log_softmax(list(zs))[-1], logits)


def test_losses_are_stable_for_huge_logits():
    assert L.binary_cross_entropy_with_logits(Value(1000.0), 0).data == pytest.approx(1000.0)
    assert L.binary_cross_entropy_with_logits(Value(-1000.0), 0).data == pytest.approx(0.0, abs=1e-12)
    z = [Value(1000.0), Value(0.0), Value(-1000.0)]
    assert L.cross_entropy(z, 1).data == pytest.approx(1000.0)
    loss = L.cross_entropy(z, 0)
    loss.backward()
    assert loss.data == pytest.approx(0.0, abs=1e-12) and all(math.isfinite(v.grad) for v in z)
    assert [p.data for p in L.softmax(z)] == pytest.approx([1.0, 0.0, 0.0])


def test_batched_cross_entropy_is_the_mean():
    a, b = [Value(1.0), Value(2.0)], [Value(0.5), Value(-0.5)]
    assert L.cross_entropy([a, b], [0, 1]).data == pytest.approx(
        (L.cross_entropy(a, 0).data + L.cross_entropy(b, 1).data) / 2
    )


def test_l2_penalty():
    ps = [Value(1.0), Value(-2.0)]
    penalty = L.l2_penalty(ps, 0.1)
    penalty.backward()
    assert penalty.data == pytest.approx(0.5)
    assert [p.grad for p in ps] == pytest.approx([0.2, -0.4])


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: L.mse([Value(1.0)], [1.0, 2.0]), "1 predictions but 2 targets"),
        (lambda: L.max_margin([Value(1.0)], [0]), "labels must be -1 or \\+1"),
        (lambda: L.binary_cross_entropy_with_logits([Value(1.0)], [2]), "targets must be in \\[0, 1\\]"),
        (lambda: L.cross_entropy([Value(1.0), Value(2.0)], 2), "target 2 is not a class index"),
        (lambda: L.mse([], []), "no predictions"),
    ],
)
def test_loss_errors(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def with_grads(values, grads):
    params = [Value(v) for v in values]
    for p, g in zip(params, grads):
        p.grad = g
    return params


def test_sgd_step_is_weight_minus_lr_times_grad():
    params = with_grads([1.0, -2.0], [0.5, -1.0])
    SGD(params, lr=0.1).step()
    assert [p.data for p in params] == pytest.approx([1.0 - 0.05, -2.0 + 0.1])


def test_sgd_momentum_and_weight_decay_by_hand():
    (p,) = with_grads([1.0], [0.5])
    opt = SGD([p], lr=0.1, momentum=0.9, weight_decay=0.01)
    opt.step()  # g = 0.5 + 0.01 * 1.0 = 0.51; v = 0.51; p = 1 - 0.051
    assert p.data == pytest.approx(0.949)
    p.grad = 0.5
    opt.step()  # g = 0.5 + 0.00949; v = 0.9 * 0.51 + 0.50949
    assert p.data == pytest.approx(0.949 - 0.1 * (0.9 * 0.51 + 0.5 + 0.01 * 0.949))
    opt.zero_grad()
    assert p.grad == 0.0


def test_adam_first_steps_by_hand():
    (p,) = with_grads([1.0], [0.5])
    opt = Adam([p], lr=0.01)
    opt.step()  # bias-corrected m = g, v = g**2: the first step is lr * g / |g| = lr
    assert p.data == pytest.approx(1.0 - 0.01, rel=1e-6)
    p.grad = -0.25
    opt.step()
    m = (0.9 * 0.1 * 0.5 + 0.1 * -0.25) / (1 - 0.9**2)
    v = (0.999 * 0.001 * 0.25 + 0.001 * 0.0625) / (1 - 0.999**2)
    assert p.data == pytest.approx(0.99 - 0.01 * m / (math.sqrt(v) + 1e-8))


def test_learning_rate_schedule_is_called_with_the_step():
    (p,) = with_grads([0.0], [1.0])
    seen = []
    opt = SGD([p], lr=lambda k: seen.append(k) or 1.0 / (k + 1))
    opt.step()
    opt.step()
    assert seen == [0, 1] and p.data == pytest.approx(-1.5)


def test_optimizer_errors():
    with pytest.raises(ValueError, match="no parameters"):
        SGD([], lr=0.1)
    with pytest.raises(ValueError, match="lr must be a positive number"):
        SGD([Value(1.0)], lr=-1)
    with pytest.raises(TypeError, match="parameters must be Values"):
        Adam([1.0])
    with pytest.raises(ValueError, match="momentum"):
        SGD([Value(1.0)], momentum=1.5)
