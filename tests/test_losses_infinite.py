"""The losses' max-shift at infinite logits, against PyTorch float64, eagerly and on every backend.

``logsumexp`` masks an infinite max as ``torch.logsumexp`` does
(``logsumexp([-inf, -inf]) = -inf``, ``logsumexp([inf, 1]) = inf``);
``softmax``, ``log_softmax`` and ``cross_entropy`` shift unmasked, as
``torch.softmax``, ``torch.log_softmax`` and ``F.cross_entropy`` (a ``+inf``
logit makes them nan). Values and gradients are compared exactly where they
are not finite, to rounding where they are; compiled batches through a
parameter per logit (``z + p``, ``p = 0``), whose gradients are the logits'.
"""

from __future__ import annotations

import math
import os

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

try:
    import torch
except ImportError:  # in CI torch is installed (the dev extra): missing there is a failure
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        raise
    pytest.skip("PyTorch is not installed (pip install 'autograd-lite[torch]')", allow_module_level=True)

import autograd_lite as al
from autograd_lite import Value, apply
from autograd_lite.losses import LOGSUMEXP, cross_entropy, log_softmax, logsumexp, softmax

inf, nan = math.inf, math.nan

LOSSES = {  # name: (ours, PyTorch's), each a number of a list of logits
    "logsumexp": (logsumexp, lambda t: torch.logsumexp(t, 0)),
    "softmax": (lambda z: Value.sum(p * (i + 1) for i, p in enumerate(softmax(z))),
                lambda t: (torch.softmax(t, 0) * torch.arange(1.0, len(t) + 1, dtype=t.dtype)).sum()),
    "log_softmax": (lambda z: Value.sum(log_softmax(z)), lambda t: torch.log_softmax(t, 0).sum()),
    "cross_entropy": (lambda z: cross_entropy(z, 0),
                      lambda t: torch.nn.functional.cross_entropy(t[None], torch.tensor([0]))),
}  # fmt: skip

EDGE_LOGITS = [
    [-inf, -inf], [inf, 1.0], [1.0, inf], [inf, -inf], [inf, inf], [-inf, 1.0], [1.0, -inf],
    [-inf, -inf, 3.0], [nan, 1.0], [inf, nan], [-inf, nan], [800.0, -800.0], [1.0, 2.0, 0.5],
]  # fmt: skip


def agree(ours: float, theirs: float) -> bool:
    """Equal where either is not finite (nan equal to nan); to rounding where both are finite."""
    if not (math.isfinite(ours) and math.isfinite(theirs)):
        return (math.isnan(ours) and math.isnan(theirs)) or ours == theirs
    return math.isclose(ours, theirs, rel_tol=1e-12, abs_tol=1e-15)


def by_torch(name: str, z: list[float]) -> tuple[float, list[float]]:
    t = torch.tensor(z, dtype=torch.float64, requires_grad=True)
    out = LOSSES[name][1](t)
    out.backward()
    return out.item(), t.grad.tolist()


def eager(name: str, z: list[float]) -> tuple[float, list[float]]:
    zs = [Value(x) for x in z]
    out = LOSSES[name][0](zs)
    out.backward()
    return out.data, [x.grad for x in zs]


def compiled_python(name: str, z: list[float]) -> tuple[float, list[float]]:
    f = al.compile(LOSSES[name][0], ([0.25 * i for i in range(len(z))],))  # traced at finite logits
    got = f.grad(z)
    return float(got.outputs), list(got.inputs[0])


def batched(backend: str):
    def run(name: str, z: list[float]) -> tuple[float, list[float]]:
        shifts = [Value(0.0) for _ in z]
        fn = lambda zs: LOSSES[name][0]([x + p for x, p in zip(zs, shifts)])
        f = al.compile(fn, ([0.25 * i for i in range(len(z))],), params=shifts)
        result = f.batch([z], backend=backend, per_sample=True)
        return float(result.outputs[0]), [float(g) for g in result.params[0]]

    return run


PATHS = {"eager": eager, "python": compiled_python, "numpy": batched("numpy"), "torch": batched("torch")}


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("name", LOSSES)
@pytest.mark.parametrize("z", EDGE_LOGITS, ids=str)
def test_losses_at_infinite_logits_match_pytorch_on_every_path(z: list[float], name: str, path: str):
    expected, expected_grads = by_torch(name, z)
    with np.errstate(invalid="ignore", over="ignore"):
        value, grads = PATHS[path](name, z)
    assert agree(value, expected), f"{name}{z} by {path}: {value!r}, PyTorch {expected!r}"
    for i, (g, e) in enumerate(zip(grads, expected_grads)):
        assert agree(g, e), f"{name}{z} by {path}: d/dz{i} {g!r}, PyTorch {e!r}"


def test_logsumexp_masks_an_infinite_max_as_pytorch_does():
    assert logsumexp([-inf, -inf]).data == -inf
    assert logsumexp([inf, 1.0]).data == inf
    assert logsumexp([-inf, 1.0]).data == 1.0
    assert math.isnan(logsumexp([nan, 1.0]).data)
    zs = [Value(inf), Value(1.0)]
    logsumexp(zs).backward()
    assert math.isnan(zs[0].grad) and zs[1].grad == 0.0  # torch: [nan, 0]


@settings(max_examples=60, deadline=None)
@given(
    z=st.lists(st.floats(-30.0, 30.0), min_size=1, max_size=5),
    offset=st.sampled_from([0.0, 700.0, -900.0]),
)
def test_logsumexp_op_derivative_matches_finite_differences(z: list[float], offset: float):
    z = [x + offset for x in z]
    zs = [Value(x) for x in z]
    out = apply(LOGSUMEXP, *zs)
    out.backward()
    for i, x in enumerate(z):
        h = 1e-6 * max(1.0, abs(x))
        up, down = list(z), list(z)
        up[i], down[i] = x + h, x - h
        numeric = (LOGSUMEXP.forward(*up) - LOGSUMEXP.forward(*down)) / (up[i] - down[i])
        assert math.isclose(zs[i].grad, numeric, rel_tol=1e-5, abs_tol=1e-7), (i, z)
    assert math.isclose(sum(v.grad for v in zs), 1.0, rel_tol=1e-12)  # softmax sums to 1
