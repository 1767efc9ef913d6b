"""micrograd's own test expressions (its test/test_engine.py), written once for every test that uses them."""

from __future__ import annotations

from typing import Any


def sanity_check(x: Any) -> Any:
    """micrograd's ``test_sanity_check``: y from x (-4.0 there)."""
    z = 2 * x + 2 + x
    q = z.relu() + z * x
    h = (z * z).relu()
    y = h + q + q * x
    return y


def more_ops(a: Any, b: Any) -> Any:
    """micrograd's ``test_more_ops``: g from a and b (-4.0 and 2.0 there)."""
    c = a + b
    d = a * b + b**3
    c += c + 1
    c += 1 + c + (-a)
    d += d * 2 + (b + a).relu()
    d += 3 * d + (b - a).relu()
    e = c - d
    f = e**2
    g = f / 2.0
    g += 10.0 / f
    return g
