"""Bad input gets a clear error naming what was wrong, and changes nothing."""

from __future__ import annotations

import pytest

from autograd_lite import Value, topological_order


@pytest.mark.parametrize(
    ("data", "shown"),
    [
        ("1.0", "'1.0' (a str)"),
        (None, "None (a NoneType)"),
        (1 + 2j, "(1+2j) (a complex)"),
        ([1.0], "[1.0] (a list)"),
    ],
)
def test_value_rejects_non_numbers(data, shown):
    with pytest.raises(TypeError, match="real number") as info:
        Value(data)
    assert shown in str(info.value)


def test_value_of_a_value_says_so():
    with pytest.raises(TypeError, match="got a Value"):
        Value(Value(1.0))


def test_label_must_be_a_string():
    with pytest.raises(TypeError, match="label must be a str"):
        Value(1.0, label=3)


@pytest.mark.parametrize("make", [lambda v: v + "x", lambda v: v * None, lambda v: v - [1], lambda v: v / 1j])
def test_operators_reject_non_numbers(make):
    with pytest.raises(TypeError, match="cannot combine a Value with"):
        make(Value(1.0))


def test_number_on_the_left_with_bad_type():
    with pytest.raises(TypeError):
        "x" + Value(1.0)  # str's own error: still a TypeError


def test_exponent_must_be_a_number_or_value():
    with pytest.raises(TypeError, match="exponent must be a number or a Value, got 'x'"):
        Value(2.0) ** "x"


@pytest.mark.parametrize(
    ("make", "error", "message"),
    [
        (lambda: Value(-1.0).log(), ValueError, r"log: log\(-1.0\)"),
        (lambda: Value(0.0).log(), ValueError, r"log: log\(0.0\)"),
        (lambda: Value(-4.0).sqrt(), ValueError, r"sqrt: sqrt\(-4.0\)"),
        (lambda: Value(1.0) / 0, ZeroDivisionError, r"/: division by zero \(1.0 / 0.0\)"),
        (lambda: 1 / Value(0.0), ZeroDivisionError, r"division by zero \(1.0 / 0.0\)"),
        (lambda: Value(0.0) ** -1, ZeroDivisionError, r"\*\*: 0 \*\* -1"),
        (lambda: Value(0.0) ** Value(-2.0), ZeroDivisionError, r"\*\*: 0 \*\* -2.0"),
        (lambda: Value(-8.0) ** 0.5, ValueError, r"-8.0 \*\* 0.5 is not a real number"),
        (lambda: Value(-2.0) ** Value(2.0), ValueError, r"base -2.0 is negative"),
        (lambda: Value(1000.0).exp(), OverflowError, r"exp: exp\(1000.0\) overflows"),
        (lambda: Value(1e200) ** 2, OverflowError, r"1e\+200 \*\* 2 overflows"),
    ],
)
def test_domain_errors_name_the_op_and_the_number(make, error, message):
    with pytest.raises(error, match=message):
        make()


def test_a_failed_op_changes_nothing():
    x, w = Value(0.5, label="x"), Value(-2.0, label="w")
    y = (x * w).tanh()
    before = [(v.data, v.grad, v._prev, v._op) for v in topological_order(y)]
    with pytest.raises(ValueError):
        (y - 1).log()  # log of a negative number
    with pytest.raises(TypeError):
        y + "oops"
    after = [(v.data, v.grad, v._prev, v._op) for v in topological_order(y)]
    assert before == after
    y.backward()
    assert w.grad == pytest.approx(x.data * (1 - y.data**2))
