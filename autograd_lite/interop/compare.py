"""``assert_same``: the same outputs, loss and every parameter gradient in autograd_lite and in PyTorch."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from autograd_lite._optional import optional_dependency

with optional_dependency("torch", "assert_same"):
    import torch
    from torch import nn

from autograd_lite.engine import Value
from autograd_lite.functional import grad
from autograd_lite.interop.layout import grads_as_tensors, names_as_tensors
from autograd_lite.interop.torch_models import same_architecture, torch_tensors
from autograd_lite.nn import MLP, RNN, Module

__all__ = ["Comparison", "NotSameError", "assert_same", "difference"]


class NotSameError(AssertionError):
    """The two models gave different numbers; the message names the largest difference."""


def difference(a: float, b: float) -> float:
    """``|a - b| / max(1, |a|, |b|)``: relative for large numbers, absolute for small ones."""
    return abs(a - b) / max(1.0, abs(a), abs(b))


@dataclass
class Comparison:
    """What :func:`assert_same` measured: the largest :func:`difference` of each kind, and where.

    ``outputs`` (over every sample and output), ``loss``, ``gradients`` (over
    every parameter); ``worst_output`` is ``(sample, output)``,
    ``worst_gradient`` the parameter's dotted name; ``n_gradients`` how many
    gradients were compared.
    """

    outputs: float
    loss: float
    gradients: float
    worst_output: tuple[int, int]
    worst_gradient: str
    n_gradients: int

    def __str__(self) -> str:
        return (
            f"outputs differ by at most {self.outputs:.3g} (sample {self.worst_output[0]}, output "
            f"{self.worst_output[1]}), the loss by {self.loss:.3g}, the {self.n_gradients} parameter "
            f"gradients by at most {self.gradients:.3g} ({self.worst_gradient})"
        )


def _samples(model: Module, inputs: Any) -> list[Any]:
    rows = (
        inputs.tolist()
        if hasattr(inputs, "tolist")
        else [list(x) if isinstance(x, Sequence) else x for x in inputs]
    )
    if not rows:
        raise ValueError("assert_same: inputs is empty; give at least one sample")
    return rows


def _flat(out: Any) -> list[Value]:
    """An autograd_lite model's output for one sample, flattened (one list per step for an RNN)."""
    if isinstance(out, Value):
        return [out]
    return [v for item in out for v in _flat(item)]


def _ours(model: MLP | RNN, rows: list[Any]) -> list[list[Value]]:
    return [_flat(model(x)) for x in rows]


def _theirs(module: nn.Module, model: Module, rows: list[Any]) -> torch.Tensor:
    dtype = next(module.parameters()).dtype
    x = torch.tensor(rows, dtype=dtype)
    if isinstance(model, RNN) and x.ndim == 2:  # one number per step: (batch, steps) -> (batch, steps, 1)
        x = x[..., None]
    return module(x).reshape(len(rows), -1)


def _targets(targets: Any, n: int, width: int) -> list[list[float]] | None:
    if targets is None:
        return None
    t = torch.as_tensor(targets, dtype=torch.float64).reshape(n, -1)
    if t.shape[1] != width:
        raise ValueError(f"assert_same: each sample has {width} output(s), its target {t.shape[1]} number(s)")
    return t.tolist()


def assert_same(
    model: MLP | RNN,
    torch_model: nn.Module,
    inputs: Any,
    targets: Any = None,
    loss: Callable[[Any, Any], Any] | None = None,
    tol: float = 1e-12,
) -> Comparison:
    """Check that ``model`` and ``torch_model`` give the same outputs, loss and every parameter gradient.

    Both run on ``inputs`` (``(batch, nin)`` for an MLP, ``(batch, steps,
    nin)`` or ``(batch, steps)`` for an RNN: lists, arrays or tensors). The
    loss is the mean over every sample and output of ``loss(output, target)``,
    an elementwise function written with operators and methods that Values and
    tensors share (``lambda o, t: (o - t) ** 2``, the default when ``targets``
    is given; ``lambda o, t: (1 - t * o).relu()``); without targets it is the
    mean of the outputs (``loss(o, None)``). Gradients come from
    :func:`autograd_lite.grad` and ``torch.autograd.grad``: no ``.grad`` is
    touched on either side.

    Differences are measured by :func:`difference`; the default tolerance
    suits float64 (for a float32 module use ``tol=1e-5``).

    Returns:
        The :class:`Comparison` (print it to see the largest differences).

    Raises:
        ValueError: the two models have different layers or activations.
        NotSameError: a difference larger than ``tol``, naming it.
    """
    layers = same_architecture(model, torch_model, "assert_same")
    rows = _samples(model, inputs)
    ours, theirs = _ours(model, rows), _theirs(torch_model, model, rows)
    target_rows = _targets(targets, len(rows), len(ours[0]))
    fn = loss or ((lambda o, t: (o - t) ** 2) if target_rows is not None else (lambda o, t: o))
    count = len(rows) * len(ours[0])
    our_terms = [fn(o, None if target_rows is None else target_rows[n][k])
                 for n, row in enumerate(ours) for k, o in enumerate(row)]  # fmt: skip
    our_loss = Value.sum(our_terms) / count
    their_targets = None if target_rows is None else torch.tensor(target_rows, dtype=theirs.dtype)
    their_loss = fn(theirs, their_targets).mean()

    params = model.parameters()
    our_grads = grads_as_tensors(model, dict(zip(params, grad(our_loss, params))))
    named = torch_tensors(torch_model, layers)
    their_grads = dict(zip(named, torch.autograd.grad(their_loss, list(named.values()))))
    their = float(their_loss.detach())
    return _report(ours, theirs, our_loss.data, their, our_grads, their_grads, model, tol)


def _report(
    ours: list[list[Value]],
    theirs: torch.Tensor,
    our_loss: float,
    their_loss: float,
    our_grads: dict[str, Any],
    their_grads: dict[str, torch.Tensor],
    model: Module,
    tol: float,
) -> Comparison:
    outs = [(difference(o.data, t), (n, k)) for n, (row, trow) in enumerate(zip(ours, theirs.tolist()))
            for k, (o, t) in enumerate(zip(row, trow))]  # fmt: skip
    names = names_as_tensors(model)
    grads = []
    for tensor, g in our_grads.items():
        triples = zip(_flatten(names[tensor]), _flatten(g), their_grads[tensor].reshape(-1).tolist())
        grads += [(difference(a, b), f"{name}: autograd_lite {a!r}, torch {b!r}") for name, a, b in triples]
    out_diff, where = max(outs)
    grad_diff, worst = max(grads)
    result = Comparison(out_diff, difference(our_loss, their_loss), grad_diff, where, worst, len(grads))
    if max(out_diff, result.loss, grad_diff) > tol:
        raise NotSameError(f"the models differ by more than {tol:g}: {result}")
    return result


def _flatten(x: Any) -> list[Any]:
    return [y for item in x for y in _flatten(item)] if isinstance(x, list) else [x]
