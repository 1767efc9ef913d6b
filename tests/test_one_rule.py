"""One rule per op: ops found by identity, formulas from the rule, forward mode, any real ``.data``."""

from __future__ import annotations

import math
import pickle

import numpy as np
import pytest
from hypothesis import assume, given, settings

import autograd_lite as al
from autograd_lite import Value, apply, custom_op, grad, jvp
from autograd_lite.ops import MUL, SQRT, TANH, Domain, Op, leaky_relu, pow_number
from autograd_lite.rules import Sym, SymbolicError, formula, symbolic, where
from autograd_lite.testing import GradcheckError, check_grads, expressions

# -- ops are found by identity, never by the text they show ---------------------------------


@pytest.mark.parametrize("name", ["tanh", "**3", "+", "dot", "LeakyReLU(0.5)", "ReLU"])
def test_a_custom_op_cannot_take_a_builtin_symbol(name):
    with pytest.raises(ValueError, match="built-in op's symbol"):
        custom_op(lambda x: 2 * x, derivative=lambda out, x: 2.0, name=name)


def test_an_op_showing_a_builtin_symbol_keeps_its_own_rules_in_every_backend():
    # Built directly (not through custom_op), so nothing refuses the name: every path must
    # still run this op's own forward 2x and derivative 2, never the real tanh's.
    fake_tanh = Op("tanh", lambda x: 2 * x, lambda out, x: 2.0, 1, (Domain(-1.0, 1.0),))
    fake_cube = Op("**3", lambda x: x**3 + 1, lambda out, x: 3 * x * x, 1, (Domain(-1.0, 1.0),))
    for op, point, value, slope in [(fake_tanh, 0.5, 1.0, 2.0), (fake_cube, 2.0, 9.0, 12.0)]:
        x = Value(point)
        y = apply(op, x)
        y.backward()
        assert (y.data, x.grad) == (value, slope)
        cf = al.compile(lambda x, op=op: apply(op, x) + apply(TANH, x), (point,))
        got = cf.grad(point)
        assert got.outputs == value + math.tanh(point)
        assert got.inputs[0] == slope + 1 - math.tanh(point) ** 2
        shift = Value(0.0)
        batched = al.compile(lambda x, op=op, shift=shift: apply(op, x + shift), (point,), params=[shift])
        result = batched.batch(np.array([point, point]), backend="numpy", per_sample=True)
        assert list(result.outputs) == [value, value]
        assert [row[0] for row in result.params] == [slope, slope]


def test_families_carry_their_parameter_and_pickle_without_parsing_text():
    cube, leaky = pow_number(3), leaky_relu(0.2)
    assert (cube.family, cube.parameter) == ("**k", 3)
    assert (leaky.family, leaky.parameter) == ("leaky_relu", 0.2)
    assert pickle.loads(pickle.dumps(cube)) is cube
    assert pickle.loads(pickle.dumps(leaky)) is leaky
    assert pickle.loads(pickle.dumps(TANH)) is TANH
    assert TANH.family is None


# -- the formula of every local derivative, from the rule itself -----------------------------


def test_formulas_name_the_nodes_inputs_and_output():
    assert TANH.formulas(["n"], out="o") == ["d tanh(n)/dn = 1 - o**2"]
    assert MUL.formulas(["a", "b"], out="c") == ["d (a*b)/da = b", "d (a*b)/db = a"]
    assert SQRT.formulas(["x"], out="r") == ["d sqrt(x)/dx = inf if r <= 0 else 0.5/r"]
    assert pow_number(3).formulas(["x"]) == ["d x**3/dx = 3*x**2"]


def test_a_custom_ops_formula_comes_from_its_rule():
    @custom_op
    def smooth_step(x):
        return x * x * (3 - 2 * x)

    smooth_step.defderivative(lambda out, x: 6 * x * (1 - x))
    assert smooth_step.op.formulas(["t"], out="s") == ["d smooth_step(t)/dt = 6*t*(1 - t)"]


def test_a_rule_without_a_symbolic_form_is_still_used_and_says_so():
    def rule(out, x):
        return 1.0 if x > 0 else 0.5  # a Python if: no symbolic form

    op = custom_op(lambda x: x if x > 0 else 0.5 * x, derivative=rule, name="leaky_half")
    assert op.op.symbolic_rule() is None
    x = Value(-2.0)
    op(x).backward()
    assert x.grad == 0.5
    assert op.op.formulas(["x"]) == [
        "d leaky_half(x)/dx: no formula: its rule uses Python's if or math, not the vocabulary of "
        "autograd_lite.rules"
    ]


def test_symbols_refuse_what_has_no_meaning_on_them():
    x = Sym.var("x")
    with pytest.raises(SymbolicError, match="where"):
        bool(x > 0)
    with pytest.raises(SymbolicError, match="math function"):
        math.exp(x)
    assert symbolic(lambda x: math.exp(x), ["x"]) is None
    assert formula(where(x > 0, x, 0.0)) == "x if x > 0 else 0"


def test_where_computes_only_the_branch_it_takes_on_numbers_and_values():
    # sqrt's rule is 0.5 / out where out > 0, else inf: on numbers the division is never made at 0.
    assert SQRT.derivative(0.0, 0.0) == math.inf
    out = Value(0.0)
    assert SQRT.interpretation("value")(out, Value(0.0)) == math.inf


# -- rules accept any real number in .data ------------------------------------------------------


@pytest.mark.parametrize("method", ["sin", "cos", "softplus", "tanh", "exp", "sigmoid", "relu"])
@pytest.mark.parametrize("data", [1, np.float64(0.5), np.float32(0.25), True])
def test_backward_works_when_data_is_an_int_or_a_numpy_number(method, data):
    x = Value(0.0)
    x.data = data  # as a hand-written SGD loop with a NumPy learning rate leaves it
    y = getattr(x, method)()
    y.backward()
    reference = Value(float(data))
    getattr(reference, method)().backward()
    assert x.grad == pytest.approx(reference.grad, rel=1e-6)


# -- forward mode -------------------------------------------------------------------------------


@settings(max_examples=150, deadline=None)
@given(expr=expressions(3, max_steps=10))
def test_jvp_equals_reverse_mode_on_random_expression_graphs(expr):
    xs = [Value(x) for x in expr.point]
    out = expr(*xs)
    assume(math.isfinite(out.data))
    grads = [0.0 if g is None else g for g in grad(out, xs, allow_unused=True)]  # an unused input: 0
    for i in range(3):
        direction = [1.0 if j == i else 0.0 for j in range(3)]
        value, tangent = jvp(expr, expr.point, direction)
        assert value == out.data
        assert tangent == pytest.approx(grads[i], rel=1e-9, abs=1e-12)
    # any direction: the dot product of the gradient with it
    direction = [0.3, -1.1, 2.0]
    _, tangent = jvp(expr, expr.point, direction)
    assert tangent == pytest.approx(sum(g * d for g, d in zip(grads, direction)), rel=1e-9, abs=1e-9)


def test_jvp_of_several_outputs_and_forward_over_forward():
    values, tangents = jvp(lambda x, y: [x * y, x.sin(), y], [2.0, 3.0], [1.0, 0.0])
    assert values == [6.0, math.sin(2.0), 3.0]
    assert tangents == [3.0, math.cos(2.0), 0.0]
    # d2/dx2 (x**3) at 2 = 12, forward mode over forward mode
    slope = lambda x: jvp(lambda x: x**3, [x], [1.0], create_graph=True)[1]
    assert jvp(slope, [2.0], [1.0]) == (12.0, 12.0)


def test_jvp_checks_its_tangents():
    with pytest.raises(TypeError, match="one tangent per input"):
        jvp(lambda x, y: x * y, [1.0, 2.0], [1.0])


def test_a_batch_sample_that_leaves_a_domain_is_replayed_alone_and_gets_eagers_answer():
    # exp is not total (it overflows), so an inf out of it sends the sample to a replay: here
    # eager raises nothing (exp(inf) is inf), and the replay gives eager's numbers.
    cf = al.compile(lambda x: (x * 1e200 * 1e200).exp(), (0.0,))
    result = cf.batch(np.array([0.0, 1.0]), backend="numpy")
    assert list(result.outputs) == [1.0, math.inf]
    x = Value(1.0)
    assert (x * 1e200 * 1e200).exp().data == math.inf
    # and a sample eager refuses raises eager's own error
    logs = al.compile(lambda x: x.log(), (1.0,))
    with pytest.raises(ValueError, match=r"log: log\(-1.0\) is undefined"):
        logs.batch(np.array([1.0, -1.0]), backend="numpy")


def test_a_numpy_batch_of_values_reads_their_data():
    cf = al.compile(lambda x: x * x, (1.0,))
    result = cf.batch([Value(1.0), Value(2.0)], backend="numpy", accumulate=False)
    assert list(result.outputs) == [1.0, 4.0]


# -- check_grads: both modes, to second order ---------------------------------------------------


def test_check_grads_passes_both_modes_to_third_order_on_a_smooth_function():
    assert check_grads(lambda x, y: (x * y).tanh() + x.exp() * y.sin(), [0.3, -0.7], order=3)


def test_check_grads_catches_a_wrong_rule_in_forward_mode_alone():
    wrong = custom_op(lambda x: x**3, derivative=lambda out, x: 3 * x * x + 0.01, name="cube_plus")
    with pytest.raises(GradcheckError, match="forward mode"):
        check_grads(wrong, [0.5], modes=("fwd",), order=1)
    with pytest.raises(GradcheckError):
        check_grads(wrong, [0.5], modes=("rev",), order=1)


def test_check_grads_catches_a_rule_that_is_right_only_to_first_order():
    def rule(out, x):
        if isinstance(x, Sym):
            raise SymbolicError("this rule is only for numbers and Values")
        if isinstance(x, Value):  # the derivative as graph: 3 x x.detach() has slope 3x, not 6x
            return 3 * x * x.detach()
        return 3 * x * x

    cube = custom_op(lambda x: x**3, derivative=rule, name="first_order_cube")
    assert check_grads(cube, [0.5], order=1)
    for modes in [("rev",), ("fwd",)]:
        with pytest.raises(GradcheckError):
            check_grads(cube, [0.5], modes=modes, order=2)


def test_check_grads_refuses_unknown_modes_and_orders():
    with pytest.raises(ValueError, match="modes"):
        check_grads(lambda x: x * x, [1.0], modes=("sideways",))
    with pytest.raises(ValueError, match="order"):
        check_grads(lambda x: x * x, [1.0], order=0)


def test_a_numpy_float32_exponent_does_not_poison_the_op_cache():
    x = Value(2.0)
    y = x ** np.float32(0.5)  # the op for this exponent is made with a Python float
    y.backward()
    assert type(y.data) is float and type(x.grad) is float
    later = Value(2.0)
    z = later**0.5
    z.backward()
    assert z.data == 2.0**0.5 and type(z.data) is float and type(later.grad) is float
    assert pow_number(np.float32(0.5)).parameter.__class__ is float
    assert pow_number(np.float32(0.1)) is pow_number(float(np.float32(0.1)))  # one op per float value
    later.data -= 0.1 * later.grad  # an SGD step by hand, as micrograd's demo
    assert type(later.data) is float
    from autograd_lite.optim import SGD

    SGD([later], lr=np.float32(0.1)).step()
    assert type(later.data) is float
