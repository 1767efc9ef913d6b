"""Training on a compiled model: outputs from the compiled program, the chain rule into the parameters."""

from __future__ import annotations

from typing import Any

from autograd_lite.engine import Value


class _CompiledStep:
    """The model compiled: its outputs on a batch as leaf Values, then the chain rule into its parameters."""

    def __init__(self, model: Any, example: Any, params: list[Value], backend: str) -> None:
        from autograd_lite.compiler import compile as compile_fn

        self.compiled = compile_fn(model, (example,), params=params)
        self.backend = backend

    def forward(self, inputs: list[Any]) -> list[Any]:
        outputs = self.compiled.forward_batch(inputs, backend=self.backend)
        if hasattr(outputs, "tolist"):  # an array backend's outputs
            outputs = outputs.tolist()
        return [_leaves(o) for o in outputs]

    def backward(self, inputs: list[Any], preds: list[Any]) -> None:
        seeds = [_grads(p) for p in preds]  # d loss / d output, from the loss's own backward()
        self.compiled.batch(inputs, grad_outputs=seeds, backend=self.backend)


def _leaves(output: Any) -> Any:
    return [_leaves(o) for o in output] if isinstance(output, list) else Value(output)


def _grads(pred: Any) -> Any:
    return [_grads(p) for p in pred] if isinstance(pred, list) else pred.grad


def _compiled_step(model: Any, example: Any, params: list[Value], how: bool | str) -> _CompiledStep:
    if how is True:
        try:
            import numpy  # noqa: F401

            how = "numpy"
        except ImportError:
            how = "python"
    from autograd_lite.compiler.backend import backend_names

    names = sorted(backend_names())
    if how not in names:
        known = (
            ", ".join(repr(n) for n in names[:-1]) + " or " + repr(names[-1])
            if len(names) > 1
            else repr(names[0])
        )
        raise ValueError(f"fit: compile must be True, False, {known}, got {how!r}")
    return _CompiledStep(model, example, params, str(how))
