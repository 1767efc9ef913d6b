"""Code written for micrograd and the micrograd lecture, run unchanged on autograd_lite.

micrograd's ``Neuron(nin, nonlin)`` positionally and its ``.nonlin``; activations by
name through ``nonlin=``; ``_op`` shown as the plain string; the lecture's
``Value(data, _children, _op, label)`` with a ``_backward`` closure of one's own;
attributes of one's own on a Value and weak references to it.
"""

from __future__ import annotations

import pytest

from autograd_lite import Value
from autograd_lite.nn import MLP, Layer, Neuron


def test_neuron_takes_micrograds_nonlin_positionally_and_has_it_as_an_attribute():
    linear, relu = Neuron(2, False), Neuron(2, True)
    assert linear.nonlin is False and relu.nonlin is True
    assert linear.activation == "linear" and relu.activation == "relu"
    x = [1.5, -2.0]
    pre = sum((w * xi for w, xi in zip(relu.w, x)), relu.b)
    assert relu(x).data == max(pre.data, 0.0)
    assert Neuron(2, nonlin=False).nonlin is False and Neuron(2, "tanh").nonlin is True
    relu.nonlin = False
    assert relu.activation == "linear"
    with pytest.raises(TypeError, match="nonlin must be True"):
        relu.nonlin = "tanh"  # type: ignore[assignment]


def test_mlp_nonlin_by_name_builds_those_neurons_and_an_unknown_name_is_an_error():
    model = MLP(2, [2, 1], nonlin="tanh")
    assert [n.activation for n in model.layers[0].neurons] == ["tanh", "tanh"]
    assert model.layers[-1].neurons[0].activation == "linear"
    assert {v._op for v in model([0.5, 0.25])._prev} == {"", "tanh"}  # dot(w, tanh outputs, b)
    with pytest.raises(ValueError, match="unknown activation 'tahn'"):
        MLP(2, [2, 1], nonlin="tahn")
    with pytest.raises(ValueError, match="unknown activation 'tahn'"):
        Neuron(2, "tahn")
    with pytest.raises(TypeError, match="not both"):
        Layer(2, 2, "tanh", nonlin=True)


def test_op_shows_as_the_plain_string_as_micrograd():
    a, b = Value(2.0), Value(3.0)
    assert repr((a + b)._op) == "'+'" and repr((a * b)._op) == "'*'"
    assert repr(a._op) == "''" and f"{(a * b)._op}" == "*"
    assert (a + b)._op == "+"
