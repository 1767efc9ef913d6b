"""PyTorch's autograd habits on autograd_lite, each compared with what PyTorch itself does.

``backward(gradient=...)``, ``item()``, ``requires_grad`` (frozen leaves, optimizers
skipping them, ``Module.requires_grad_``), ``register_hook``, ``retain_grad``, a bare
``@no_grad``, ``grad(outputs, inputs, grad_outputs, allow_unused)``, and ``backward()`` on
a value computed under ``no_grad()``. PyTorch (float64) is the oracle; these tests skip
without it, except under CI where it is installed (the dev extra).
"""

from __future__ import annotations

import math
import os

import pytest
from hypothesis import given
from hypothesis import strategies as st

try:
    import torch
except ImportError:  # in CI torch is installed (the dev extra): missing there is a failure
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        raise
    pytest.skip("PyTorch is not installed (pip install 'autograd-lite[torch]')", allow_module_level=True)

from autograd_lite import Value, engine, no_grad
from autograd_lite.engine import is_grad_enabled
from autograd_lite.functional import grad
from autograd_lite.nn import MLP
from autograd_lite.optim import SGD, Adam

finite = st.floats(-3, 3, allow_nan=False)
seeds = st.floats(-5, 5, allow_nan=False)


def t(x: float, requires_grad: bool = True) -> torch.Tensor:
    return torch.tensor(x, dtype=torch.float64, requires_grad=requires_grad)


def f(x, y):  # the same expression on Values and on tensors
    return x * y + (x * x).sin() - y / (x * x + 1)


@given(x=finite, y=finite, seed=seeds)
def test_backward_with_a_gradient_seeds_the_pass_as_pytorch(x: float, y: float, seed: float):
    a, b = Value(x), Value(y)
    f(a, b).backward(gradient=seed)
    ta, tb = t(x), t(y)
    f(ta, tb).backward(gradient=t(seed, False))
    assert a.grad == pytest.approx(ta.grad.item(), rel=1e-12, abs=1e-12)
    assert b.grad == pytest.approx(tb.grad.item(), rel=1e-12, abs=1e-12)


def test_backward_seed_on_a_leaf_adds_it_and_a_bad_seed_is_a_clear_error():
    x = Value(2.0)
    x.backward()
    x.backward(2.5)  # micrograd: a leaf's backward() adds to its own grad
    assert x.grad == 3.5
    y = x * x
    with pytest.raises(TypeError, match=r"backward\(gradient=\.\.\.\) takes a real number.*'one'"):
        y.backward("one")  # type: ignore[arg-type]
    assert x.grad == 3.5, "a refused call changes nothing"


def test_item_is_the_number_as_in_pytorch():
    assert (Value(1.5) * 2).item() == (t(1.5) * 2).item() == 3.0


def test_backward_on_a_result_of_no_grad_raises_as_pytorch_but_a_leaf_still_works():
    x = Value(3.0)
    with no_grad():
        y = x * x
    with pytest.raises(RuntimeError, match=r"does not require grad.*no_grad\(\).*enable_grad"):
        y.backward()
    tx = t(3.0)
    with torch.no_grad():
        ty = tx * tx
    with pytest.raises(RuntimeError, match="does not require grad"):
        ty.backward()
    assert not y.requires_grad and ty.requires_grad is False
    y.requires_grad = True  # a leaf, so it may be made to require grad, as in PyTorch
    y.backward()
    assert y.grad == 1.0


def test_no_grad_works_bare_called_and_as_a_block():
    @no_grad
    def bare(v):
        return v * v, is_grad_enabled()

    @no_grad()
    def called(v):
        return v * v, is_grad_enabled()

    @torch.no_grad
    def torch_bare(v):
        return v * v

    x = Value(2.0)
    for fn in (bare, called):
        out, enabled = fn(x)
        assert out._prev == () and enabled is False
    assert is_grad_enabled()
    assert torch_bare(t(2.0)).requires_grad is False
    assert bare.__name__ == "bare"
    with no_grad():
        with no_grad():
            assert not is_grad_enabled()
        assert not is_grad_enabled()
    assert is_grad_enabled()


def test_grad_of_an_unused_input_raises_unless_allowed_then_none_as_pytorch():
    x, unused = Value(2.0), Value(5.0)
    tx, tu = t(2.0), t(5.0)
    with pytest.raises(RuntimeError, match=r"not used.*allow_unused=True"):
        grad(x.exp(), [x, unused])
    with pytest.raises(RuntimeError):
        torch.autograd.grad(tx.exp(), [tx, tu])
    ours = grad(x.exp(), [x, unused], allow_unused=True)
    theirs = torch.autograd.grad(tx.exp(), [tx, tu], allow_unused=True)
    assert ours[0] == pytest.approx(theirs[0].item()) and ours[1] is None and theirs[1] is None


@given(x=finite, y=finite, s1=seeds, s2=seeds)
def test_grad_of_several_outputs_with_grad_outputs_as_pytorch(x: float, y: float, s1: float, s2: float):
    a, b = Value(x), Value(y)
    ours = grad([f(a, b), a * b], [a, b], grad_outputs=[s1, s2])
    ta, tb = t(x), t(y)
    theirs = torch.autograd.grad([f(ta, tb), ta * tb], [ta, tb], grad_outputs=[t(s1, False), t(s2, False)])
    assert ours == pytest.approx([g.item() for g in theirs], rel=1e-12, abs=1e-12)
    with pytest.raises(ValueError, match="2 grad_outputs for 1 outputs"):
        grad(a * b, [a], grad_outputs=[1.0, 2.0])


@given(x=finite, w=finite)
def test_a_frozen_leaf_gets_no_gradient_and_the_rest_as_pytorch(x: float, w: float):
    a, frozen = Value(x), Value(w)
    frozen.grad = 0.5  # whatever it held stays
    frozen.requires_grad = False
    f(a, frozen).backward()
    ta, tw = t(x), t(w, requires_grad=False)
    f(ta, tw).backward()
    assert frozen.grad == 0.5 and tw.grad is None
    assert a.grad == pytest.approx(ta.grad.item(), rel=1e-12, abs=1e-12)
    frozen.requires_grad_(True)
    frozen.grad = 0.0
    f(a, frozen).backward()
    tw.requires_grad_(True)
    f(ta, tw).backward()
    assert frozen.grad == pytest.approx(tw.grad.item(), rel=1e-12, abs=1e-12)


def test_only_a_leaf_can_be_frozen_and_a_frozen_leaf_cannot_take_a_hook():
    x = Value(1.0)
    y = x * 2
    with pytest.raises(RuntimeError, match="only a leaf's flag can be changed"):
        y.requires_grad = False
    with pytest.raises(RuntimeError):
        (t(1.0) * 2).requires_grad_(False)
    with pytest.raises(TypeError, match="True or False"):
        x.requires_grad = 1  # type: ignore[assignment]
    x.requires_grad = False
    with pytest.raises(RuntimeError, match="does not require grad"):
        x.register_hook(lambda g: g)
    with pytest.raises(RuntimeError, match="frozen leaf"):
        x.backward()


@pytest.mark.parametrize("make", [lambda ps: SGD(ps, lr=0.1, momentum=0.9), lambda ps: Adam(ps, lr=0.1)])
def test_module_requires_grad_false_freezes_it_and_optimizers_skip_it(make):
    model = MLP(2, [3, 1])
    first = model.layers[0]
    assert first.requires_grad_(False) is first
    frozen = {id(p): p.data for p in first.parameters()}
    opt = make(model.parameters())
    for _ in range(3):
        opt.zero_grad()
        model([0.5, -1.0]).backward()
        opt.step()
    assert {id(p): p.data for p in first.parameters()} == frozen
    assert all(p.grad == 0.0 for p in first.parameters())
    assert any(p.grad != 0.0 for p in model.layers[1].parameters())
    first.requires_grad_(True)
    assert all(p.requires_grad for p in model.parameters())


@given(x=finite, seed=seeds)
def test_hooks_see_the_final_gradient_and_may_replace_it_as_pytorch(x: float, seed: float):
    seen: list[float] = []
    a = Value(x)
    y = a * a
    y.register_hook(lambda g: seen.append(g) or g * 3)  # interior: replaces what goes on
    a.register_hook(lambda g: seen.append(g))  # leaf: sees this pass's gradient
    z = y.sin() + y
    z.backward(seed)
    z.backward(seed)  # the leaf accumulates; its hook sees each pass's own gradient

    tseen: list[float] = []
    ta = t(x)
    ty = ta * ta
    ty.register_hook(lambda g: tseen.append(g.item()) or g * 3)
    ta.register_hook(lambda g: tseen.append(g.item()))
    tz = ty.sin() + ty
    tz.backward(t(seed, False), retain_graph=True)
    tz.backward(t(seed, False))
    assert seen == pytest.approx(tseen, rel=1e-12, abs=1e-12)
    assert a.grad == pytest.approx(ta.grad.item(), rel=1e-12, abs=1e-12)


def test_a_removed_hook_is_not_called_and_a_bad_hook_loses_nothing():
    a = Value(2.0)
    calls: list[float] = []
    handle = a.register_hook(calls.append)
    handle.remove()
    handle.remove()  # twice is harmless
    (a * a).backward()
    assert calls == [] and a.grad == 4.0
    y = a * a
    y.register_hook(lambda g: "oops")
    with pytest.raises(TypeError, match="returned 'oops'"):
        (y + 1).backward()
    assert a.grad == 4.0 and y.grad == 0.0, "every grad as before the call"


def test_retain_grad_returns_self_and_interior_grads_are_kept_anyway():
    a = Value(1.5)
    y = (a * a).retain_grad()
    (y * 3).backward()
    ta = t(1.5)
    ty = ta * ta
    assert ty.retain_grad() is None
    (ty * 3).backward()
    assert y.grad == ty.grad.item() == 3.0


def test_the_hook_path_and_the_fast_path_agree_on_every_grad():
    def grads(hooked: bool) -> list[float]:
        engine._EXTRAS[0] = False  # the fast loop, until a hook is registered (it is set back then)
        xs = [Value(v) for v in (0.3, -1.2, 2.0)]
        out = Value.dot(xs, xs[::-1], bias=xs[0]).tanh() * xs[1].exp() + Value.sum(xs) / 3
        if hooked:
            xs[2].register_hook(lambda g: None)
        out.backward()
        return [x.grad for x in xs]

    assert grads(True) == grads(False)
    assert all(math.isfinite(g) for g in grads(False))


def test_a_graph_without_hooks_frozen_leaves_or_closures_keeps_the_fast_loop(monkeypatch):
    """A hook, a frozen leaf or a lecture node elsewhere in the process does not slow other graphs."""
    from autograd_lite import engine

    elsewhere = Value(1.0)
    handle = elsewhere.register_hook(lambda g: g)
    frozen = Value(2.0).requires_grad_(False)
    lecture = Value(3.0, (elsewhere,), "mine")
    general = []
    real = engine._backward_with_extras
    monkeypatch.setattr(engine, "_backward_with_extras", lambda *a: (general.append(a[0]), real(*a)))
    x = Value(2.0)
    (x * x + 1.0).backward()
    assert general == [] and x.grad == 4.0
    for root in (elsewhere * 2.0, frozen * x, lecture * 2.0):  # each of these needs the general pass
        root.backward()
    assert len(general) == 3
    handle.remove()
