"""Tracing: run a function once on ``Value``s and record it as a program.

A :class:`Program` is the recorded graph laid out for replay: numbered slots
(inputs, then parameters, then constants, then one slot per op node in an
order where every node comes after its inputs), the op of each node, the
outputs, and the *guards*: every comparison of a ``Value`` made while
tracing (``if x > 0:``), with the answer it gave. A replay is valid only
while every guard gives the same answer again. Values cut from the graph
while tracing (``detach()``, ``no_grad()``) are recomputed on replay but pass
no gradient back.

Nothing here knows how a program is run: see :mod:`autograd_lite.compiler.backend`
(the interface) and its backends, :mod:`~autograd_lite.compiler.python_backend`
(straight-line Python) and :mod:`~autograd_lite.compiler.numpy_backend` (NumPy,
a whole batch at once). :class:`Signature` checks and flattens the arguments
of a replay and puts its flat results back into their structure.
"""

from __future__ import annotations

import math
import os
from array import array
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple, Union

from autograd_lite._callers import user_frame
from autograd_lite.engine import _TRACER, Value, _Constant, _Detached, _is_real
from autograd_lite.ops import Op

__all__ = [
    "Guard",
    "Instruction",
    "Instructions",
    "Program",
    "Signature",
    "Structure",
    "TraceError",
    "flatten",
    "leaf_count",
    "restructure",
    "trace",
]

Structure = Union[None, tuple["Structure", ...]]
"""The shape of one argument or result: ``None`` for a number, a tuple of
structures for a sequence (``([x0, x1], y)`` is ``((None, None), None)``)."""


class TraceError(TypeError):
    """The function or its example inputs cannot be traced."""


class Instruction(NamedTuple):
    """One op node: ``slot = op(*children)``; ``grad`` False for a detached value.

    ``op`` is ``None`` for a detached copy (``x.detach()``): ``slot = children[0]``.
    """

    slot: int
    op: Any
    children: tuple[int, ...]
    grad: bool


class Guard(NamedTuple):
    """``slot <cmp> other`` gave ``expected`` while tracing.

    ``other`` is a slot number, or ``None`` with the number in ``constant``.
    ``after`` is how many instructions must have run before it can be checked.
    ``where`` is the line of ``fn`` that made the comparison (``"file.py:12"``,
    the first frame outside autograd_lite), for retrace warnings.
    """

    slot: int
    cmp: str
    other: int | None
    constant: float
    expected: bool
    after: int
    where: str = ""


class Instructions(Sequence[Instruction]):
    """A program's instructions, stored compactly: a few bytes of arrays per node.

    Instruction ``i`` writes slot ``first + i``. Reading one (``program.instructions[i]``,
    iterating) makes its :class:`Instruction`; backends that walk millions of
    nodes read the arrays directly: ``op_index[i]`` (into ``ops``), the
    children ``children[starts[i]:starts[i + 1]]`` and ``grad[i]``.
    """

    __slots__ = ("children", "first", "grad", "op_index", "ops", "starts")

    def __init__(self, first: int) -> None:
        self.first = first
        self.ops: list[Any] = []  # each distinct op once (None: a detached copy)
        self.op_index = array("i")
        self.starts = array("q", [0])
        self.children = array("q")
        self.grad = bytearray()

    def append(self, op: Any, children: Sequence[int], grad: bool, op_numbers: dict[int, int]) -> None:
        """Add ``op(*children)``; ``op_numbers`` maps ``id(op)`` to its index in ``ops`` (by identity)."""
        number = op_numbers.get(id(op))
        if number is None:
            number = op_numbers[id(op)] = len(self.ops)
            self.ops.append(op)
        self.op_index.append(number)
        self.children.extend(children)
        self.starts.append(len(self.children))
        self.grad.append(grad)

    def __len__(self) -> int:
        return len(self.op_index)

    def __getitem__(self, i: Any) -> Any:
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(len(self)))]
        if i < 0:
            i += len(self)
        if not 0 <= i < len(self):
            raise IndexError("instruction index out of range")
        kids = tuple(self.children[self.starts[i] : self.starts[i + 1]])
        return Instruction(self.first + i, self.ops[self.op_index[i]], kids, bool(self.grad[i]))

    def __iter__(self) -> Iterator[Instruction]:
        return (self[i] for i in range(len(self)))

    def __reversed__(self) -> Iterator[Instruction]:
        return (self[i] for i in range(len(self) - 1, -1, -1))


@dataclass
class Program:
    """A traced function, ready to be turned into code.

    Slots ``0 .. n_inputs-1`` hold the inputs, the next ``len(params)`` the
    parameters (live ``Value``s whose ``.data`` is read on every replay), the
    next ``len(constants)`` the constants (each distinct number once), then
    one slot per instruction, in order (:class:`Instructions`).
    """

    n_inputs: int
    params: list[Value]
    constants: list[float]
    instructions: Instructions
    outputs: list[int]
    guards: list[Guard]
    in_structure: tuple[Structure, ...]
    out_structure: Structure

    @property
    def n_slots(self) -> int:
        return self.n_inputs + len(self.params) + len(self.constants) + len(self.instructions)

    @property
    def first_constant(self) -> int:
        return self.n_inputs + len(self.params)

    @property
    def first_instruction(self) -> int:
        return self.n_inputs + len(self.params) + len(self.constants)


# ----------------------------------------------------------------------------
# Arguments and results: nested sequences of numbers, flattened in order.


def structure_of(arg: Any, where: str) -> Structure:
    """The structure of an example argument (numbers and nested sequences)."""
    if isinstance(arg, Value) or _is_real(arg):
        return None
    if isinstance(arg, (str, bytes)) or not hasattr(arg, "__len__") or not hasattr(arg, "__getitem__"):
        raise TraceError(
            f"compile: {where} must be a number or a sequence of numbers, got {type(arg).__name__}"
        )
    return tuple(structure_of(item, f"{where}[{i}]") for i, item in enumerate(arg))


def flatten(arg: Any, structure: Structure, out: list[float], where: str) -> None:
    """Append the numbers of ``arg`` to ``out``, checking it has ``structure``."""
    if structure is None:
        if arg.__class__ is float:
            out.append(arg)
        elif isinstance(arg, Value):
            out.append(arg.data)
        elif _is_real(arg):
            out.append(float(arg))
        else:
            raise TypeError(f"{where}: expected a number, got {type(arg).__name__}")
        return
    try:
        n = len(arg)
    except TypeError:
        raise TypeError(
            f"{where}: expected a sequence of {len(structure)}, got {type(arg).__name__}"
        ) from None
    if n != len(structure) or isinstance(arg, (str, bytes)):
        raise TypeError(f"{where}: expected a sequence of {len(structure)}, got {n} items")
    for i, (item, sub) in enumerate(zip(arg, structure)):
        flatten(item, sub, out, f"{where}[{i}]")


def leaf_count(structure: Structure) -> int:
    """How many numbers an argument or result of this structure holds."""
    return 1 if structure is None else sum(leaf_count(s) for s in structure)


def restructure(flat: Sequence[float], structure: Structure, start: int = 0) -> tuple[Any, int]:
    """The numbers ``flat[start:]`` put back into ``structure``, and the index after the last one used."""
    if structure is None:
        return flat[start], start + 1
    items = []
    for sub in structure:
        item, start = restructure(flat, sub, start)
        items.append(item)
    return items, start


class Signature:
    """What a compiled function takes and returns: flattening, checks and restructuring, for every backend.

    ``in_structure`` has one :data:`Structure` per argument, ``out_structure``
    is the result's; ``n_inputs`` and ``n_outputs`` count their numbers.
    """

    __slots__ = ("in_structure", "n_inputs", "n_outputs", "out_structure")

    def __init__(self, in_structure: tuple[Structure, ...], out_structure: Structure) -> None:
        self.in_structure = in_structure
        self.out_structure = out_structure
        self.n_inputs = leaf_count(in_structure)
        self.n_outputs = leaf_count(out_structure)

    def flat(self, args: Sequence[Any], where: str = "") -> tuple[float, ...]:
        """One call's arguments as a flat tuple of floats, checked against the structure."""
        if len(args) != len(self.in_structure):
            raise TypeError(
                f"compiled function{where} takes {len(self.in_structure)} argument(s), got {len(args)}"
            )
        flat: list[float] = []
        for i, (arg, s) in enumerate(zip(args, self.in_structure)):
            flatten(arg, s, flat, f"compiled function{where}: argument {i}")
        return tuple(flat)

    def samples(self, batched_args: Sequence[Any]) -> list[tuple[float, ...]]:
        """A batch (one sequence per argument, with a leading batch axis) as flat samples, each checked."""
        if len(batched_args) != len(self.in_structure):
            raise TypeError(
                f"compiled function takes {len(self.in_structure)} batched argument(s), "
                f"got {len(batched_args)}"
            )
        sizes = {len(a) for a in batched_args}
        if len(sizes) > 1:
            raise ValueError(f"compiled function: batched arguments have different lengths {sorted(sizes)}")
        return [self.flat(sample, f" (sample {n})") for n, sample in enumerate(zip(*batched_args))]

    def seed(self, grad_outputs: Any) -> tuple[float, ...]:
        """One sample's output gradients: 1.0 each by default, one number for all, or as the results."""
        if grad_outputs is None:
            return (1.0,) * self.n_outputs
        if _is_real(grad_outputs):  # one number for every output: int, float, np.float32, Fraction
            return (float(grad_outputs),) * self.n_outputs
        flat: list[float] = []
        flatten(grad_outputs, self.out_structure, flat, "grad_outputs")
        return tuple(flat)

    def seeds(self, grad_outputs: Any, n: int) -> list[tuple[float, ...]]:
        """Output gradients for ``n`` samples: one seed for all, or one per sample."""
        if grad_outputs is None or _is_real(grad_outputs):
            return [self.seed(grad_outputs)] * n
        if len(grad_outputs) != n:
            raise ValueError(f"grad_outputs: expected one per sample ({n}), got {len(grad_outputs)}")
        return [self.seed(g) for g in grad_outputs]

    def result(self, flat_outputs: Sequence[float]) -> Any:
        """One sample's flat outputs in the result's structure (a float for a single ``Value``)."""
        return restructure(flat_outputs, self.out_structure)[0]

    def arguments(self, sample: Sequence[float]) -> list[Any]:
        """One flat sample back as the function's arguments (to trace it)."""
        return restructure(sample, self.in_structure)[0]


def _build(structure: Structure, leaves: list[Value], labels: str) -> Any:
    """Values for one argument, in its structure, appending each to ``leaves``."""
    if structure is None:
        v = Value(0.0, label=labels)
        leaves.append(v)
        return v
    return [_build(sub, leaves, f"{labels}[{i}]") for i, sub in enumerate(structure)]


def _results(result: Any, out: list[Value]) -> Structure:
    if isinstance(result, Value):
        out.append(result)
        return None
    if _is_real(result):
        out.append(_Constant.__new__(_Constant))
        out[-1].data, out[-1].grad, out[-1].label = float(result), 0.0, ""
        return None
    if isinstance(result, (list, tuple)):
        return tuple(_results(item, out) for item in result)
    raise TraceError(
        f"compile: the function must return a Value or a (nested) list of Values, got {type(result).__name__}"
    )


# ----------------------------------------------------------------------------
# The recorder: installed in the engine while the function runs.


def _caller() -> str:
    """``"file.py:12"``: the innermost frame outside autograd_lite (the user's line)."""
    frame, _ = user_frame()
    if frame is None:
        return ""
    return f"{os.path.basename(frame.f_code.co_filename)}:{frame.f_lineno}"


class _Recorder:
    def __init__(self) -> None:
        self.comparisons: list[tuple[Value, str, Any, bool, str]] = []

    def guard(self, value: Value, cmp: str, other: Any, result: bool) -> None:
        self.comparisons.append((value, cmp, other, result, _caller()))


def _sources(v: Value) -> tuple[Value, ...]:
    """What ``v`` is computed from on replay: its inputs, or a detached value's source."""
    if v.__class__ is _Detached:
        return v._source[0]
    if v._prev and not isinstance(v._op, Op):  # a node of one's own, or the micrograd twin's
        lowered = _lowered(v)
        if lowered is not None:
            return lowered[1]
    return v._prev


def _lowered(v: Value) -> tuple[Op, tuple[Value, ...]] | None:
    """A node's op of the table and its inputs in order, or ``None`` if it has none.

    An op node has them as ``_op`` and ``_prev``; a node whose ``_op`` is a plain
    string may give them with a ``_lowered()`` method (the micrograd twin's nodes,
    whose ``_prev`` is a set, do).
    """
    if isinstance(v._op, Op):
        return v._op, v._prev
    lower = getattr(v, "_lowered", None)
    return None if lower is None else lower()


class _Layout:
    """Numbers every value the program needs, in one dict: ``number * 4 + kind``.

    Kinds: inputs, parameters, constants (each distinct number once: a chain
    of ``x * 1.0001`` has one constant, not a million), op nodes in an order
    where every node comes after its inputs (depth first from each root).
    """

    INPUT, PARAM, CONST, NODE = range(4)
    _PENDING = -1  # met, its inputs not done yet

    def __init__(self, inputs: list[Value], params: Sequence[Value] | None) -> None:
        self.code: dict[Value, int] = {leaf: i * 4 for i, leaf in enumerate(inputs)}
        self.n_inputs = len(inputs)
        self.params: list[Value] = []
        for p in params or ():
            if not isinstance(p, Value):
                raise TraceError(f"compile: params must be Values, got {type(p).__name__}")
            code = self.code.get(p)
            if code is not None and code & 3 == self.INPUT:
                raise TraceError("compile: a parameter cannot also be an input")
            if code is None:
                self._number(p, self.PARAM, self.params)
        self.constants: list[float] = []
        self._constant_numbers: dict[tuple[float, float], int] = {}
        self.nodes: list[Value] = []

    def _number(self, v: Value, kind: int, into: list[Any]) -> None:
        self.code[v] = len(into) * 4 + kind
        into.append(v)

    def visit(self, roots: list[Value]) -> None:
        """Number everything ``roots`` are computed from, inputs before the values made from them."""
        code, pending = self.code, self._PENDING
        stack = list(reversed(roots))
        while stack:
            v = stack.pop()
            state = code.get(v)
            if state is None:
                code[v] = pending
                stack.append(v)
                stack.extend(c for c in reversed(_sources(v)) if c not in code)
            elif state == pending:
                if v._prev or v.__class__ is _Detached:
                    self._number(v, self.NODE, self.nodes)
                elif v.__class__ is _Constant:
                    self._constant(v)
                else:
                    self._number(v, self.PARAM, self.params)

    def _constant(self, v: Value) -> None:
        key = (v.data, math.copysign(1.0, v.data))  # 0.0 and -0.0 are two numbers
        number = self._constant_numbers.setdefault(key, len(self.constants))
        if number == len(self.constants):
            self.constants.append(v.data)
        self.code[v] = number * 4 + self.CONST

    def slots(self) -> Callable[[Value], int]:
        """The slot of a numbered value."""
        first_constant = self.n_inputs + len(self.params)
        base = (0, self.n_inputs, first_constant, first_constant + len(self.constants))
        code = self.code
        return lambda v: (code[v] >> 2) + base[code[v] & 3]

    def instructions(self) -> Instructions:
        slot = self.slots()
        out = Instructions(self.n_inputs + len(self.params) + len(self.constants))
        op_numbers: dict[int, int] = {}
        for v in self.nodes:
            if v.__class__ is _Detached:
                children, op = v._source
                out.append(op, [slot(c) for c in children], False, op_numbers)
            else:
                lowered = _lowered(v)
                if lowered is None:
                    raise TypeError(
                        f"compile: node {v!r} (op {str(v._op)!r}) was made with Value(data, _children, _op) "
                        "and its own _backward closure; compiled code needs an op of the table "
                        "(or custom_op) for every node: run it eagerly, or make the op with custom_op"
                    )
                out.append(lowered[0], [slot(c) for c in lowered[1]], True, op_numbers)
        return out


def _run(fn: Callable[..., Any], example_inputs: Sequence[Any]) -> tuple[Any, ...]:
    """``fn`` on fresh leaves holding the example: (input leaves, their structure, result, recorder)."""
    if not isinstance(example_inputs, (tuple, list)):
        raise TraceError(
            "compile: example_inputs must be a tuple of the function's arguments, "
            f"got {type(example_inputs).__name__}"
        )
    in_structure = tuple(structure_of(arg, f"example_inputs[{i}]") for i, arg in enumerate(example_inputs))
    inputs: list[Value] = []
    args = [_build(s, inputs, f"arg{i}") for i, s in enumerate(in_structure)]
    flat: list[float] = []
    for i, (arg, s) in enumerate(zip(example_inputs, in_structure)):
        flatten(arg, s, flat, f"example_inputs[{i}]")
    for leaf, x in zip(inputs, flat):
        leaf.data = x
    recorder = _Recorder()
    token = _TRACER.set(recorder)
    try:
        result = fn(*args)
    finally:
        _TRACER.reset(token)
    return inputs, in_structure, result, recorder


def trace(
    fn: Callable[..., Any],
    example_inputs: Sequence[Any],
    params: Sequence[Value] | None = None,
) -> Program:
    """Run ``fn(*example_inputs)`` on fresh leaf ``Value``s and record its program.

    Leaves the function touches that are not inputs are parameters (read on
    every replay, and given gradients): ``params`` first, in its order, then
    any other in the order met. Numbers in expressions are constants.
    """
    inputs, in_structure, result, recorder = _run(fn, example_inputs)
    outputs: list[Value] = []
    out_structure = _results(result, outputs)
    del result

    # Guard operands first, then outputs: every guard can be checked before
    # anything that was computed after its comparison made a choice.
    layout = _Layout(inputs, params)
    guard_after: list[int] = []
    for value, _, other, _, _ in recorder.comparisons:
        layout.visit([value, other] if isinstance(other, Value) else [value])
        guard_after.append(len(layout.nodes))
    layout.visit(outputs)
    instructions = layout.instructions()
    slot = layout.slots()

    guards = []
    for (value, cmp, other, expected, where), after in zip(recorder.comparisons, guard_after):
        if isinstance(other, Value):
            guards.append(Guard(slot(value), cmp, slot(other), math.nan, expected, after, where))
        else:
            guards.append(Guard(slot(value), cmp, None, float(other), expected, after, where))

    return Program(
        n_inputs=len(inputs),
        params=layout.params,
        constants=layout.constants,
        instructions=instructions,
        outputs=[slot(o) for o in outputs],
        guards=guards,
        in_structure=in_structure,
        out_structure=out_structure,
    )
