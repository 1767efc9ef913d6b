"""The walk: every step of one backward pass recorded, the graph's grads put back."""

from __future__ import annotations

from dataclasses import dataclass

from autograd_lite.animation.style import _short
from autograd_lite.engine import Value, topological_order
from autograd_lite.stepper import Step, backward_steps, value_names


@dataclass
class _Walk:
    """The steps of one backward pass from zero, and what each frame shows.

    Frame 0 is the start (root seeded with 1), frame ``k`` (1..N) the state
    after step ``k`` with that step current, frame ``N + 1`` the end.
    """

    root: Value
    nodes: list[Value]
    names: dict[Value, str]
    steps: list[Step]
    last_touch: dict[Value, int]  # the frame after which a value's grad is final

    @property
    def frames(self) -> int:
        return len(self.steps) + 2

    def start_grads(self) -> dict[Value, float]:
        grads = dict.fromkeys(self.nodes, 0.0)
        grads[self.root] = 1.0
        return grads

    def step_at(self, frame: int) -> Step | None:
        return self.steps[frame - 1] if 1 <= frame <= len(self.steps) else None

    def caption(self, frame: int) -> list[str]:
        root, count = self.names[self.root], len(self.steps)
        step = self.step_at(frame)
        if frame == 0:
            then = (
                f"Each of the {count} steps sends the gradient back along one edge (chain rule)."
                if count
                else f"{root} is a leaf: there is no edge to step over."
            )
            return [f"d{root}/d{root} = 1.0: the backward pass starts at the output {root}.", then]
        if step is None:
            return [f"Done: {count} steps; every grad is final, as {root}.backward() leaves it."]
        final = "  (final)" if self.last_touch.get(step.child, 0) == frame else ""
        text = step.explain()
        cut = text.rfind(f"; {step.child_name}.grad:")  # explain() may end with the running total itself
        if cut >= 0:
            return [text[:cut], text[cut + 2 :] + final]
        return [
            text,
            f"{step.child_name}.grad: {_short(step.grad_before)} -> {_short(step.child_grad)}{final}",
        ]

    def counter(self, frame: int) -> str:
        if frame == 0:
            return f"start (step 0 of {len(self.steps)})"
        if frame == self.frames - 1:
            return f"done ({len(self.steps)} steps)"
        return f"step {frame} of {len(self.steps)}"


def _record(root: Value) -> _Walk:
    """Walk ``backward_steps(root, zero_grad=True)`` and put every grad back afterwards."""
    nodes = topological_order(root)
    saved = [(node, node.grad) for node in nodes]
    try:
        steps = list(backward_steps(root, zero_grad=True))
    finally:
        for node, grad in saved:
            node.grad = grad
    last_touch = {step.child: step.index + 1 for step in steps}
    return _Walk(root, nodes, value_names(root), steps, last_touch)
