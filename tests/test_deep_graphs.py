"""backward() uses an explicit stack: depth and width are limited by memory only."""

from __future__ import annotations

import sys

from autograd_lite import Value


def test_chain_of_a_million_nodes():
    assert sys.getrecursionlimit() < 1_000_000
    x = Value(1.5)
    y = x
    for _ in range(1_000_000):
        y = -y
    y.backward()
    assert x.grad == 1.0  # (-1) ** 1_000_000
    y.backward()
    assert x.grad == 2.0
    del y  # freeing a million-deep chain must not overflow the C stack either


def test_chain_with_constants_and_activations():
    x = Value(0.3)
    y = x
    for _ in range(200_000):
        y = (y * 1.0 + 0.0).relu()
    y.backward()
    assert x.grad == 1.0


def test_sum_of_two_hundred_thousand_terms():
    xs = [Value(i * 1e-3) for i in range(200_000)]
    ws = [Value(2.0) for _ in range(200_000)]
    total = Value.sum(w * x for w, x in zip(ws, xs))
    total.backward()
    assert all(x.grad == 2.0 for x in xs)
    assert ws[-1].grad == xs[-1].data


def test_python_sum_of_a_deep_chain_of_adds():
    xs = [Value(1.0) for _ in range(200_000)]
    total = sum(xs)  # 200,000 binary '+' nodes, each the child of the next
    total.backward()
    assert total.data == 200_000 and xs[0].grad == 1.0 and xs[-1].grad == 1.0
