"""copy.copy, copy.deepcopy and pickle of Value graphs: any depth, everything kept.

A copy keeps every node's class, data, grad and label, the ops themselves
(the same Op objects), detached values' sources, and the graph's shape: a
node used twice is one object in the copy. Neither copying nor pickling
recurses, so a chain hundreds of thousands of nodes deep (the benchmark,
benchmarks/bench_deep_copy.py, does a million) copies and saves with
Python's recursion limit untouched.
"""

from __future__ import annotations

import copy
import io
import math
import pickle
import random
import sys
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from hypothesis import given

from autograd_lite import Value, custom_op
from autograd_lite.engine import _TRACER, _Constant, _Detached, _Node, no_grad
from autograd_lite.nn import MLP, RNN
from autograd_lite.ops import MUL
from autograd_lite.testing import expressions

RECURSION_LIMIT = sys.getrecursionlimit()

cube = custom_op(lambda x: x**3, derivative=lambda out, x: 3 * x * x, name="copy_pickle_cube")
mean = custom_op(
    lambda *xs: sum(xs) / len(xs),
    derivative=lambda out, *xs: [1 / len(xs)] * len(xs),
    name="copy_pickle_mean",
)


class Tagged(Value):
    """A user's subclass (it has a __dict__): copied and pickled the default way."""


# -- helpers ------------------------------------------------------------------------


def inputs_of(v: Value) -> tuple[Value, ...]:
    if type(v) is _Detached:
        return v._source[0]  # type: ignore[attr-defined,no-any-return]
    return v._prev


def walk(roots: Sequence[Value]) -> list[Value]:
    """Every Value below ``roots`` once (inputs and detached sources), in a fixed order; no recursion."""
    seen: set[Value] = set()
    order: list[Value] = []
    stack = list(reversed(roots))
    while stack:
        v = stack.pop()
        if v in seen:
            continue
        seen.add(v)
        order.append(v)
        stack.extend(reversed(inputs_of(v)))
    return order


def same_number(a: float, b: float) -> bool:
    return a == b or (math.isnan(a) and math.isnan(b))


def assert_same_graph(
    originals: Sequence[Value], copies: Sequence[Value], *, shared: Sequence[Value] = (), grads: bool = True
) -> None:
    """``copies`` is a copy of the graph below ``originals``: the same shape (a node used
    twice is one object, in the same places), classes, numbers, labels, ops (the same
    objects) and grads, and every Value a new object but those in ``shared``."""
    left, right = walk(originals), walk(copies)
    assert len(left) == len(right)
    index = {v: i for i, v in enumerate(right)}
    position = {v: i for i, v in enumerate(left)}
    keep = set(shared)
    for o, c in zip(left, right):
        assert type(c) is type(o)
        assert (c is o) == (o in keep)
        assert same_number(c.data, o.data) and c.label == o.label
        assert same_number(c.grad, o.grad) or not grads
        assert c._op is o._op
        assert [index[x] for x in inputs_of(c)] == [position[x] for x in inputs_of(o)]
        if type(o) is _Detached:
            assert c._source[1] is o._source[1]  # type: ignore[attr-defined]
    assert [index[c] for c in copies] == [position[o] for o in originals]


def round_trips(value: Any) -> Iterator[Any]:
    """``value`` deep-copied, then pickled and loaded with every protocol."""
    yield copy.deepcopy(value)
    for protocol in range(pickle.HIGHEST_PROTOCOL + 1):
        yield pickle.loads(pickle.dumps(value, protocol=protocol))


def chain(x: Value, steps: int) -> list[Value]:
    """Every step of ``x = x * 1.0001 + 0.1`` (two nodes and two constants a step)."""
    out = []
    for _ in range(steps):
        x = x * 1.0001 + 0.1
        out.append(x)
    return out


def depth(root: Value) -> int:
    """The longest path from ``root`` down to a leaf, counted in nodes; no recursion."""
    longest: dict[Value, int] = {}
    stack = [root]
    while stack:
        v = stack[-1]
        missing = [x for x in inputs_of(v) if x not in longest]
        if missing:
            stack.extend(missing)
            continue
        stack.pop()
        longest[v] = 1 + max((longest[x] for x in inputs_of(v)), default=0)
    return longest[root]


class _AnyGuard:
    def guard(self, *args: Any) -> None:
        pass


@contextmanager
def tracing() -> Iterator[None]:
    """As while compiling: detach() and no_grad() make _Detached values that remember their source."""
    token = _TRACER.set(_AnyGuard())
    try:
        yield
    finally:
        _TRACER.reset(token)


def small_graph() -> Value:
    """One of each kind of Value: leaf, constant, node, detached (both kinds), custom op, op families."""
    x, w = Value(0.7, label="x"), Value(-1.3, label="w")
    h = (x * w + 2.0).tanh()
    with tracing():
        d = h.detach()  # _source: ((h,), None)
        with no_grad():
            e = x * 3.0  # _source: ((x, 3.0), MUL)
    assert type(d) is _Detached and type(e) is _Detached
    y = cube(h) + mean(h, d, e, x) + (h**2).leaky_relu(0.1) + h ** Value(0.5, label="k").exp()
    y.label = "y"
    return y


# -- a deep chain ---------------------------------------------------------------------


def test_a_chain_300_000_nodes_deep_copies_and_pickles_with_the_same_gradients():
    x = Value(1.0, label="x")
    y = chain(x, 150_000)[-1]  # 300,000 nodes deep (and 300,000 constants)
    y.label = "y"
    clones = [copy.deepcopy(y), pickle.loads(pickle.dumps(y, protocol=pickle.HIGHEST_PROTOCOL))]
    assert sys.getrecursionlimit() == RECURSION_LIMIT < 300_000
    y.backward()
    for clone in clones:
        clone.backward()
        assert_same_graph([y], [clone])  # the same graph, and every grad equal (constants' too)
        assert next(v for v in walk([clone]) if v.label == "x").grad == x.grad > 1.0


def test_every_protocol_pickles_a_deep_chain():
    y = chain(Value(0.5), 5_000)[-1]  # 10,000 deep: past what the default could do
    for clone in round_trips(y):
        assert_same_graph([y], [clone])


# -- what a copy keeps ----------------------------------------------------------------


def test_every_kind_of_value_op_and_detached_source_is_kept_by_every_protocol():
    y = small_graph()
    kinds = {type(v) for v in walk([y])}
    assert kinds == {Value, _Constant, _Node, _Detached}
    for clone in round_trips(y):
        assert_same_graph([y], [clone])
        detached = [v for v in walk([clone]) if type(v) is _Detached]
        assert {d._source[1] for d in detached} == {None, MUL}  # type: ignore[attr-defined]
        assert {v._op for v in walk([clone])} >= {cube.op, mean.op}
    y.backward()
    clones = list(round_trips(y))
    for clone in clones:  # grads are kept too
        assert_same_graph([y], [clone])
    y.backward()  # leaves accumulate: the second backward adds as much again, on the copies too
    for clone in clones:
        clone.backward()
        assert_same_graph([y], [clone])


def test_grads_and_labels_are_copied_as_they_are():
    a = Value(2.0, label="a")
    b = (a * a).tanh()
    b.backward()
    b.label = "b"
    a.grad = 123.0  # whatever they hold
    for clone in round_trips(b):
        assert clone.label == "b" and clone.grad == 1.0 and clone._prev[0]._prev[0].grad == 123.0


def test_shared_subexpressions_stay_shared():
    x, y = Value(1.5, label="x"), Value(-0.5, label="y")
    a = x * y
    b = a + a  # a twice in one node
    c = (b * a).tanh() + Value.sum([a, b, x, x])  # a diamond, and a leaf used often
    for clone in round_trips(c):
        assert_same_graph([c], [clone])
        tanh, total = clone._prev
        b2, a2 = tanh._prev[0]._prev
        assert b2._prev[0] is b2._prev[1] is a2
        assert total._prev[0] is a2 and total._prev[1] is b2 and total._prev[2] is total._prev[3]
        assert total._prev[2] is a2._prev[0]


def test_ops_are_the_same_objects_not_copies():
    x = Value(0.3)
    y = cube(x**3).leaky_relu(0.2) * x
    for clone in round_trips(y):
        assert [v._op for v in walk([clone])] == [v._op for v in walk([y])]
        for o, c in zip(walk([y]), walk([clone])):
            assert c._op is o._op


def test_custom_ops_and_detached_values_in_a_deep_graph():
    x = Value(0.1)
    h = x
    with tracing():
        for i in range(2_000):
            h = cube(mean(h, h.detach(), 0.5)) if i % 3 == 0 else h * 0.999 + 0.01
    clones = list(round_trips(h))
    h.backward()
    for clone in clones:
        assert_same_graph([h], [clone], grads=False)
        clone.backward()
        assert_same_graph([h], [clone])


# -- several Values of one graph --------------------------------------------------------


def test_several_values_of_one_graph_in_one_copy_or_pickle_stay_one_graph():
    x = Value(0.5, label="x")
    a = x.sin()
    b = a * x + 1.0
    c = (b * a).exp()
    for values in ([a, b, c], [c, b, a], {"c": c, "x": x, "b": b}):
        originals = list(values.values()) if isinstance(values, dict) else values
        for clone in round_trips(values):
            copies = list(clone.values()) if isinstance(clone, dict) else clone
            assert_same_graph(originals, copies)
    a2, b2, c2 = pickle.loads(pickle.dumps([a, b, c]))
    assert b2._prev[0]._prev[0] is a2 and c2._prev[0]._prev == (b2, a2)


def test_a_list_of_every_step_of_a_deep_chain_pickles_in_linear_size():
    x = Value(1.0)
    steps = chain(x, 5_000)  # 5,000 roots, each 2 nodes deeper than the last
    one = len(pickle.dumps(steps[-1]))
    every = pickle.dumps(steps)
    assert len(every) < 2 * one  # each node saved once, not once per step that uses it
    loaded = pickle.loads(every)
    assert_same_graph(steps, loaded)
    assert all(loaded[i + 1]._prev[0]._prev[0] is loaded[i] for i in range(len(loaded) - 1))
    assert_same_graph(steps, copy.deepcopy(steps))


def test_one_pickler_dumping_two_values_of_a_graph_and_one_unpickler_loading_them():
    x = Value(1.0)
    a = chain(x, 10_000)[-1]
    b = chain(a, 10_000)[-1]
    buffer = io.BytesIO()
    pickler = pickle.Pickler(buffer)
    pickler.dump(a)
    pickler.dump(b)  # pickler's memo has a's graph: b's pickle refers to it
    unpickler = pickle.Unpickler(io.BytesIO(buffer.getvalue()))
    a2, b2 = unpickler.load(), unpickler.load()
    assert_same_graph([a, b], [a2, b2])
    # another pickle, while that pickler is still alive, starts from scratch
    assert_same_graph([b], [pickle.loads(pickle.dumps(b))])
    assert_same_graph([a], [pickle.loads(pickle.dumps(a))])


class PicklesItsValueToBytes:
    """An object that writes a pickle while it is being pickled (a pickle inside a pickle)."""

    def __init__(self, value: Value) -> None:
        self.value = value

    def __reduce__(self) -> tuple[Any, ...]:
        return (pickle.loads, (pickle.dumps(self.value),))


def test_a_pickle_written_while_writing_another_leaves_it_intact():
    a = chain(Value(1.0), 10_000)[-1]
    b = chain(a, 10_000)[-1]  # b's pickle refers to a's nodes, saved before the inner pickle
    inner = chain(Value(2.0), 10_000)[-1]
    a2, inner2, b2 = pickle.loads(pickle.dumps([a, PicklesItsValueToBytes(inner), b]))
    assert_same_graph([a, inner, b], [a2, inner2, b2])


def test_a_pickler_without_memo_pickles_as_by_default():
    y = chain(Value(1.0), 30)[-1]  # Pickler.fast saves an object each time it is met, recursively
    buffer = io.BytesIO()
    pickler = pickle.Pickler(buffer)
    pickler.fast = True
    pickler.dump(y)
    assert_same_graph([y], [pickle.loads(buffer.getvalue())])


def test_pickling_keeps_nothing_alive_afterwards():
    x = Value(1.0)
    y = chain(x, 1_000)[-1]
    middle = y._prev[0]
    before = sys.getrefcount(y), sys.getrefcount(middle), sys.getrefcount(x)
    pickle.dumps([y, middle])
    copy.deepcopy(y)
    assert (sys.getrefcount(y), sys.getrefcount(middle), sys.getrefcount(x)) == before


def test_threads_pickle_their_own_graphs_at_the_same_time():
    graphs = [chain(Value(float(i)), 10_000)[-1] for i in range(3)]
    results: dict[int, Any] = {}

    def work(i: int) -> None:
        results[i] = [pickle.loads(pickle.dumps(graphs[i])) for _ in range(2)]

    threads = [threading.Thread(target=work, args=(i,)) for i in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for i, g in enumerate(graphs):
        for clone in results[i]:
            assert_same_graph([g], [clone])


# -- deepcopy and copy's memo -----------------------------------------------------------


def test_deepcopy_respects_a_memo_given_to_share_values():
    w = Value(2.0, label="w")
    x = Value(3.0, label="x")
    loss = chain(w * x, 1_000)[-1]
    clone = copy.deepcopy(loss, {id(w): w})  # the standard way to share, here a weight
    assert_same_graph([loss], [clone], shared=[w])
    clone.backward()
    assert w.grad > 0.0 and x.grad == 0.0


def test_shallow_copy_is_a_new_node_sharing_its_inputs_and_op():
    x, y = Value(1.0), Value(2.0)
    n = x * y
    n.grad, n.label = 0.5, "n"
    c = copy.copy(n)
    assert type(c) is _Node and c is not n
    assert c._prev is n._prev and c._op is n._op
    assert (c.data, c.grad, c.label) == (2.0, 0.5, "n")
    leaf = copy.copy(x)
    assert type(leaf) is Value and leaf is not x and leaf.data == 1.0
    assert type(copy.copy(n._prev[0] + 1.0)._prev[1]) is _Constant
    with tracing():
        d = n.detach()
    assert copy.copy(d)._source is d._source  # type: ignore[attr-defined]


def test_a_users_subclass_is_copied_and_pickled_the_default_way():
    t = Tagged(2.0, label="t")
    t.tag = "mine"  # type: ignore[attr-defined]
    out = chain(t * 3, 1_000)[-1]
    clones = [copy.deepcopy(out), *(pickle.loads(pickle.dumps(out, protocol=p)) for p in (2, 3, 4, 5))]
    for clone in clones:  # (protocols 0 and 1 cannot pickle a subclass with __slots__ and __dict__)
        (leaf,) = [v for v in walk([clone]) if isinstance(v, Tagged)]
        assert type(leaf) is Tagged and leaf.tag == "mine" and leaf.data == 2.0 and leaf.label == "t"
        assert_same_graph([out], [clone])
    assert copy.copy(t).tag == "mine"


# -- models -------------------------------------------------------------------------------


def test_an_rnn_unrolled_over_100_steps_is_copied_and_saved_with_its_loss():
    rng = random.Random(0)
    model = RNN(1, 4, seed=0)
    outputs = model([rng.uniform(-1.0, 1.0) for _ in range(100)])
    targets = [rng.uniform(-1.0, 1.0) for _ in range(100)]
    loss = sum((o - t) ** 2 for o, t in zip(outputs, targets))  # micrograd's way: a chain of 100 '+'
    last = outputs[-1]
    # deeper than what deepcopy (about 100 nodes) and pickle (about 200) could do before
    assert depth(last) > 200 and depth(loss) > 200
    for model2, last2, loss2 in round_trips([model, last, loss]):
        params, params2 = model.parameters(), model2.parameters()
        assert len(params) == len(params2) > 0
        assert all(p is not q and p.data == q.data and p.label == q.label for p, q in zip(params, params2))
        below = set(walk([loss2]))
        assert set(params2) <= below and last2 in below  # the copy's loss uses the copy's weights
        assert_same_graph([*params, last, loss], [*params2, last2, loss2])
        model.zero_grad()
        model2.zero_grad()
        loss.backward()
        loss2.backward()
        assert [q.grad for q in params2] == [p.grad for p in params]
        assert loss2.data == loss.data and last2.data == last.data


def test_deepcopy_of_a_model_gives_new_parameters_with_the_same_data():
    model = MLP(2, [4, 4, 1], seed=0)
    for clone in round_trips(model):
        params, params2 = model.parameters(), clone.parameters()
        assert len(params) == len(params2)
        assert all(p is not q and p.data == q.data and p.label == q.label for p, q in zip(params, params2))
        assert clone([0.5, -0.2]).data == model([0.5, -0.2]).data
        params2[0].data += 1.0
        assert params[0].data != params2[0].data


# -- random graphs ------------------------------------------------------------------------


@given(expressions(3))
def test_random_graphs_round_trip_with_equal_data_and_equal_gradients(expression):
    leaves = [Value(x, label=f"x{i}") for i, x in enumerate(expression.point)]
    root = expression(*leaves)
    clones = list(round_trips([root, *leaves]))
    for clone in clones:
        assert_same_graph([root, *leaves], clone)
    root.backward()
    for clone in clones:
        clone[0].backward()
        assert_same_graph([root, *leaves], clone)
        assert [v.grad for v in clone[1:]] == [v.grad for v in leaves]
