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
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass

from autograd_lite.engine import Value, topological_order

__all__ = ["GraphModel", "ModelNode", "cluster_chain", "graph_model", "module_of_parameter", "module_paths"]


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
    """The module path it belongs to (``layers.0.neurons.3``), ``None`` outside any module."""


@dataclass(frozen=True)
class GraphModel:
    """The values of a graph in topological order, and the modules that group them."""

    nodes: tuple[ModelNode, ...]
    modules: tuple[str, ...]
    """Every module path that encloses a value, each after the module enclosing it."""

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
        clusters: find the ``nn`` modules (otherwise every ``module`` is ``None``).
    """
    values = topological_order(root)
    ids = {v: f"v{i}" for i, v in enumerate(values)}
    owner = module_paths(values) if clusters else {}
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
        )
        for v in values
    )
    modules: dict[str, None] = {}
    for path in owner.values():
        modules.update(dict.fromkeys(cluster_chain(path)))
    return GraphModel(nodes, tuple(sorted(modules, key=_module_order)))


def _module_order(path: str) -> tuple[int, list[tuple[int, str]]]:
    """Outer modules first, then in their natural order: ``neurons.2`` before ``neurons.10``."""
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
