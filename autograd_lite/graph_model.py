"""The graph behind a value as plain data: ids, names, numbers and module paths.

Every picture of a graph starts here. :func:`graph_model` reads the graph
once and gives each value an id, the name to show, its data and grad, its op
and inputs, and the ``nn`` module it belongs to. The renderers take the model
and draw it: :mod:`autograd_lite.viz` as a Graphviz picture, and the stepper's
front end (:mod:`autograd_lite.walkthrough`, ``frontend/stepper.js``) as one
SVG whose module boxes collapse and expand in the browser.

Ids are stable: the value at position ``i`` of ``topological_order(root)``
is ``v<i>``, its op ``v<i>_op``, and the edge from its ``k``-th input
``v<i>_e<k>``.

Module paths come from the parameters' dotted labels
(``layers.0.neurons.3.w.1`` belongs to ``layers.0.neurons.3``); see
:func:`module_paths` for how interior values join a module.

An unrolled RNN uses one cell's parameters at every time step, so its
values are grouped by time step instead: the values computed at step ``t``
are in the box ``t=<t>`` (:func:`time_steps`), found from the hidden states
:meth:`autograd_lite.nn.RNN.unroll` labels ``h_<t>[<j>]``; the shared
parameters stay in their modules' boxes.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass

from autograd_lite.engine import Value, topological_order

__all__ = [
    "GraphModel",
    "ModelNode",
    "box_paths",
    "box_title",
    "cluster_chain",
    "graph_model",
    "hidden_state_label",
    "module_of_parameter",
    "module_paths",
    "time_step_of",
    "time_steps",
]


@dataclass(frozen=True)
class ModelNode:
    """One value of the graph, as a picture shows it."""

    id: str
    """``v<i>``, ``i`` the value's position in ``topological_order(root)``."""
    value: Value
    name: str
    """The label, or the name given by ``names=`` (the stepper names unlabelled values)."""
    data: float
    grad: float
    """``.grad``, or the grad given by ``grads=``."""
    op: str | None
    """The op's symbol (``"+"``, ``"tanh"``), ``None`` for a leaf."""
    inputs: tuple[str, ...]
    """The ids of the op's inputs, in order (``v<i>_e<k>`` comes from ``inputs[k]``)."""
    module: str | None
    """The box it is drawn in: its module's path (``layers.0.neurons.3``), the time step's
    (``t=3``, see :func:`time_steps`), or ``None`` outside any."""
    step: int | None = None
    """The time step that computed it (an unrolled RNN's), ``None`` outside any."""


@dataclass(frozen=True)
class GraphModel:
    """The values of a graph in topological order, and the modules that group them."""

    nodes: tuple[ModelNode, ...]
    modules: tuple[str, ...]
    """Every box (a module path or a time step ``t=<t>``) enclosing a value, each after its enclosing one."""

    def parent(self, path: str) -> str | None:
        """The module enclosing module ``path`` (``layers.0`` for ``layers.0.neurons.3``), or ``None``."""
        chain = cluster_chain(path)
        return chain[-2] if len(chain) > 1 else None


def graph_model(
    root: Value,
    *,
    grads: Mapping[Value, float] | None = None,
    names: Mapping[Value, str] | None = None,
    clusters: bool = True,
) -> GraphModel:
    """The model of the graph that computed ``root``.

    Args:
        root: the output value.
        grads: gradients to show instead of ``.grad``.
        names: names to show instead of labels.
        clusters: find the ``nn`` modules and time steps (otherwise every ``module`` is ``None``).
    """
    values = topological_order(root)
    ids = {v: f"v{i}" for i, v in enumerate(values)}
    owner = box_paths(values) if clusters else {}
    nodes = tuple(
        ModelNode(
            id=ids[v],
            value=v,
            name=names.get(v, v.label) if names is not None else v.label,
            data=v.data,
            grad=v.grad if grads is None else grads.get(v, v.grad),
            op=str(v._op) if v._prev else None,
            inputs=tuple(ids[k] for k in v._prev),
            module=owner.get(v),
            step=time_step_of(owner.get(v)),
        )
        for v in values
    )
    modules: dict[str, None] = {}
    for path in owner.values():
        modules.update(dict.fromkeys(cluster_chain(path)))
    return GraphModel(nodes, tuple(sorted(modules, key=_module_order)))


def _module_order(path: str) -> tuple[int, list[tuple[int, str]]]:
    """Outer modules first, then in their natural order: ``neurons.2`` before ``neurons.10``.

    Time steps come after the outermost modules, ``t=2`` before ``t=10``.
    """
    step = time_step_of(path)
    if step is not None:
        return 1, [(-1, "t="), (step, "")]
    return len(cluster_chain(path)), [(int(p), "") if p.isdigit() else (-1, p) for p in path.split(".")]


# ----------------------------------------------------------------------------
# Modules, from the parameters' dotted labels.


def module_of_parameter(label: str) -> str | None:
    """The module path of a parameter labelled with its dotted name, or ``None``.

    The path is the label without its final name and an optional trailing
    index: ``layers.0.neurons.3.w.1`` and ``layers.0.neurons.3.b`` belong to
    ``layers.0.neurons.3``. A label without such a path (``x``, ``w1``) is not
    a module parameter.
    """
    parts = label.split(".")
    if len(parts) > 1 and parts[-1].isdigit():
        parts.pop()
    parts.pop()
    if not parts or not all(parts):
        return None
    return ".".join(parts)


def _common_path(paths: Collection[str]) -> str | None:
    split = [p.split(".") for p in paths]
    common: list[str] = []
    for segments in zip(*split):
        if len(set(segments)) != 1:
            break
        common.append(segments[0])
    # a path ending in a list name ("layers") is no module: drop it
    while common and len(common) < min(len(s) for s in split) and split[0][len(common)].isdigit():
        common.pop()
    return ".".join(common) or None


_CHAIN_OPS = frozenset({"+", "sum"})


def module_paths(nodes: Iterable[Value]) -> dict[Value, str]:
    """The module path of every value that belongs to an ``nn`` module.

    ``nodes`` must list children before parents (``topological_order``).
    A parameter (a leaf labelled ``<module path>.<name>[.<index>]``) belongs
    to its module. An interior value belongs to module M when

    * one of its children is a parameter of M (a neuron's ``dot`` node, or
      the ``*`` and ``+`` nodes of an unfused neuron), or
    * it is a ``+``/``sum`` whose children all belong to M (the rest of an
      unfused neuron's chain of sums), or
    * it has one input, which belongs to M by one of the rules above (the
      neuron's activation).

    A value whose children point at several modules belongs to their common
    enclosing module, if any. Values outside any module (inputs, the loss)
    are left out.
    """
    owner: dict[Value, str] = {}
    direct: set[Value] = set()  # members by the first two rules
    for node in nodes:
        kids = node._prev
        if not kids:
            path = module_of_parameter(node.label) if node.label else None
            if path:
                owner[node] = path
                direct.add(node)
            continue
        from_params = {owner[k] for k in kids if not k._prev and k in owner}
        if from_params:
            common = _common_path(from_params)
            if common:
                owner[node] = common
                direct.add(node)
        elif node._op in _CHAIN_OPS:
            paths = {owner.get(k) for k in kids}
            if len(paths) == 1 and None not in paths:
                owner[node] = paths.pop()  # type: ignore[assignment]
                direct.add(node)
        elif len(kids) == 1 and kids[0] in direct and kids[0]._prev:
            owner[node] = owner[kids[0]]
    return owner


def cluster_chain(path: str) -> list[str]:
    """The module paths enclosing ``path`` (itself last), skipping list names.

    ``layers.0.neurons.3`` gives ``["layers.0", "layers.0.neurons.3"]``.
    """
    parts = path.split(".")
    chain = []
    for i in range(1, len(parts) + 1):
        if i < len(parts) and parts[i].isdigit():
            continue  # "layers" is a list of modules, not a module
        chain.append(".".join(parts[:i]))
    return chain


# ----------------------------------------------------------------------------
# Time steps, from the hidden states an unrolled RNN labels.

_HIDDEN_STATE = re.compile(r"h_([0-9]+)\[[0-9]+\]\Z")
_TIME_STEP = re.compile(r"t=([0-9]+)\Z")


def hidden_state_label(step: int, unit: int) -> str:
    """The label of unit ``unit`` of the hidden state at time step ``step``: ``h_3[0]``.

    :meth:`autograd_lite.nn.RNN.unroll` labels its hidden states so (``h_1``
    is the state after the first input; ``h_0`` would be the initial state);
    a hand-written RNN whose hidden states carry such labels is grouped by
    time step the same way.
    """
    return f"h_{step}[{unit}]"


def time_step_of(path: str | None) -> int | None:
    """The time step of a box's path (``3`` for ``t=3``), ``None`` for a module's path or ``None``."""
    found = _TIME_STEP.match(path) if path else None
    return int(found.group(1)) if found else None


def box_title(path: str) -> str:
    """What a box says it is: ``time step 3`` for ``t=3``, a module's path as it is."""
    step = time_step_of(path)
    return path if step is None else f"time step {step}"


def time_steps(nodes: Sequence[Value], owner: Mapping[Value, str]) -> dict[Value, int]:
    """The time step that computed each value of an unrolled RNN.

    ``nodes`` in topological order, ``owner`` their :func:`module_paths`.
    A value belongs to step ``t`` when

    * it is a hidden state, an interior value labelled ``h_<t>[<j>]``
      (:func:`hidden_state_label`), or
    * it belongs to the same module as one of its uses, and that use belongs
      to step ``t`` (the pre-activation of ``h_t``, an unfused neuron's
      chain of ``*`` and ``+``), or, failing that,
    * it belongs to a module and one of its inputs belongs to a step: the
      latest of those (the readout of ``h_t``, the output ``y_t``).

    Parameters (leaves) belong to no step: every step shares them. Values
    outside modules (the inputs ``x_t``, the loss) belong to none either.
    Steps are told apart by their number alone: two RNNs unrolled into one
    graph share the box of each step.
    """
    step: dict[Value, int] = {}
    for v in nodes:
        found = _HIDDEN_STATE.match(v.label) if v._prev and v.label else None
        if found:
            step[v] = int(found.group(1))
    if not step:
        return step
    uses: dict[Value, list[Value]] = {}
    for v in nodes:
        for k in v._prev:
            uses.setdefault(k, []).append(v)
    for v in reversed(nodes):  # uses first: down from each h_t into its own module's values
        if v._prev and v not in step and v in owner:
            same = [step[u] for u in uses.get(v, ()) if u in step and owner.get(u) == owner[v]]
            if same:
                step[v] = min(same)
    for v in nodes:  # inputs first: up from h_t into the modules that read it
        if v._prev and v not in step and v in owner:
            read = [step[k] for k in v._prev if k in step]
            if read:
                step[v] = max(read)
    return step


def box_paths(nodes: Sequence[Value]) -> dict[Value, str]:
    """The box each value is drawn in: ``t=<t>`` for a value of time step ``t``, else its module path.

    ``nodes`` in topological order. Values in neither are left out.
    """
    owner = module_paths(nodes)
    for v, t in time_steps(nodes, owner).items():
        owner[v] = f"t={t}"
    return owner
