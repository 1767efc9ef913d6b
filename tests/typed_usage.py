"""The README's Python examples as a user would type them, checked by ``mypy --strict``.

Each ``readme_example_N`` holds the README's N-th Python example (tests/test_typing.py
checks that its statements are there, in order, once annotations are set aside), with the
annotations ``--strict`` asks a user for and lines such as ``score: Value = model(x)`` that
state the types a user relies on. Nothing here is run: mypy reads it.
"""

from __future__ import annotations

import math

from autograd_lite import Value


def readme_example_1() -> None:
    from autograd_lite import Value

    x = Value(2.0, label="x")
    w = Value(-3.0, label="w")
    b = Value(6.88, label="b")
    o = (x * w + b).tanh()
    o.backward()
    print(o.data, x.grad, w.grad, b.grad)  # do/dx = w * (1 - o**2), ...
    data: float = o.data
    grad: float = x.grad
    print(data, grad)


def readme_example_2() -> None:
    def exp(self: Value) -> Value:
        out = Value(math.exp(self.data), (self,), "exp")  # Value(data, _children, _op, label)

        def _backward() -> None:
            self.grad += out.data * out.grad

        # micrograd's idiom: mypy reports any assignment to a method (here allowed: a node of one's own)
        out._backward = _backward  # type: ignore[method-assign]
        return out

    print(exp(Value(1.0)))


def readme_example_3() -> None:
    from autograd_lite.data import make_moons, train_test_split
    from autograd_lite.nn import MLP
    from autograd_lite.train import evaluate, fit

    X, labels = make_moons(200, noise=0.1, seed=0)
    y = [2 * t - 1 for t in labels]  # the hinge loss wants -1/+1
    X_train, X_test, y_train, y_test = train_test_split(X, y, seed=0)
    model = MLP(2, [16, 16, 1], seed=0)  # 337 parameters, as micrograd's
    history = fit(
        model, X_train, y_train, loss="hinge", l2=1e-4, lr=lambda k: 1.0 - 0.9 * k / 100, epochs=100, tol=1e-3
    )
    print(history.stop_reason, evaluate(model, X_test, y_test, loss="hinge"))
    history.plot(path="loss.png")
    score: Value = model(X[0])
    print(score)


def readme_example_4() -> None:
    import numpy as np

    import autograd_lite as al
    from autograd_lite.data import make_moons
    from autograd_lite.nn import MLP

    X, labels = make_moons(100, noise=0.1, seed=0)
    y = [2 * t - 1 for t in labels]
    model = MLP(2, [16, 16, 1], seed=0)
    step = al.compile(lambda x, t: (1 - t * model(x)).relu(), (X[0], y[0]))

    loss = step(X[0], y[0])  # one sample: forward + backward, grads added into p.grad
    model.zero_grad()
    result = step.batch(np.array(X), np.array(y), grad_outputs=1 / len(X), backend="numpy")
    print(result.outputs.mean())  # the mean hinge loss; every p.grad holds its gradient
    print(step.source[:300])  # the generated code, to read
    print(loss)


def readme_example_5() -> None:
    from autograd_lite.data import make_moons

    X, labels = make_moons(100, noise=0.1, seed=0)
    y = [2 * t - 1 for t in labels]

    from autograd_lite.interop import assert_same
    from autograd_lite.nn import MLP, from_torch

    model = MLP(2, [16, 16, 1], seed=0)
    net = model.to_torch()  # nn.Sequential(Linear, ReLU, Linear, ReLU, Linear), float64
    print(assert_same(model, net, X, y, loss=lambda o, t: (1 - t * o).relu()))
    # outputs differ by at most 4.4e-16 ..., the 337 parameter gradients by at most 5.6e-17 (...)
    back = from_torch(net)  # an MLP again, the same numbers
    print(back)


def readme_example_6() -> None:
    from autograd_lite import Value
    from autograd_lite.stepper import (
        backward_steps,
        explore,
        export_steps_html,
        forward_steps,
        gradient_terms,
        update_steps,
    )
    from autograd_lite.viz import draw_graph, save_graph  # draw_dot is the same, micrograd's name

    x, w, b = Value(0.5, label="x"), Value(-1.2, label="w"), Value(2.0, label="b")
    o = (x * w + b).tanh()
    o.label = "o"
    o.backward()
    draw_graph(o)  # a graphviz.Digraph: Jupyter shows it inline
    save_graph(o, "graph.svg")  # .svg, .png or .pdf by the extension; .dot for the source

    for step in forward_steps(o):  # the forward pass, one node at a time
        print(step.explain())  # v2 = x*w = 0.5*(-1.2) = -0.6
    for edge in backward_steps(o, zero_grad=True):  # backward(), one edge at a time
        print(edge.explain())  # the rule, its numbers, the running total:
    print(gradient_terms(o, x).explain())  # x's whole gradient: one term per use of x
    for update in update_steps([w, b], lr=0.1):  # applied only by update.apply()
        print(update.explain())  # w <- w - 0.1 * grad = -1.2 - 0.1 * 0.108076 = -1.21081
    explore(o)  # Jupyter: step on the picture (buttons, slider, play, ← →, zoom)
    explore(o, forward=True, params=[w, b], lr=0.1)  # forward pass, backward pass, then the update
    export_steps_html(o, "steps.html")  # the same walkthrough as one self-contained HTML file


def readme_example_7() -> None:
    from hypothesis import given

    from autograd_lite.testing import gradcheck, values

    def smooth_max(x: Value, y: Value) -> Value:  # log(e**4x + e**4y) / 4
        return ((4 * x).exp() + (4 * y).exp()).log() / 4

    @given(x=values(-3, 3), y=values(-3, 3))
    def test_smooth_max_derivatives(x: float, y: float) -> None:
        assert gradcheck(smooth_max, [x, y])


def readme_example_8() -> None:
    from autograd_lite.testing import check_grads

    assert check_grads(lambda x, y: (x * y).tanh() + x.exp() * y.sin(), [0.3, -0.7], order=2)


def readme_example_9() -> None:
    from autograd_lite import Value, custom_op
    from autograd_lite.custom import exp, sigmoid
    from autograd_lite.ops import MUL, TANH
    from autograd_lite.testing import expressions, gradcheck, gradgradcheck

    @custom_op
    def swish(x: float) -> float:  # x * sigmoid(x)
        return x / (1 + exp(-x))

    @swish.defderivative
    def _(out: float, x: float) -> float:
        s = sigmoid(x)
        return s + out * (1 - s)

    assert gradcheck(swish, [0.7]) and gradgradcheck(swish, [0.7])
    y = swish(Value(0.7))  # a node like any other: backward(), draw_graph, the stepper, compile
    assert swish.op.formulas(["x"], out="y") == ["d swish(x)/dx = sigmoid(x) + y*(1 - sigmoid(x))"]
    random_graphs_with_swish = expressions(["x", "y"], ops=[swish, MUL, TANH])
    node: Value = y
    print(node, random_graphs_with_swish)


def readme_example_10() -> None:
    from autograd_lite import jvp

    value, tangent = jvp(lambda x, y: x * y + x.sin(), [0.0, 2.0], [1.0, 0.0])
    assert (value, tangent) == (0.0, 3.0)  # d/dx (x*y + sin x) = y + cos x


def readme_example_11() -> None:
    from autograd_lite import Value, grad, hessian

    x = Value(2.0)
    for _ in range(8):
        y = x**4 - 3 * x**2 + x
        slope = grad(y, x, create_graph=True)  # f'(x), a Value: a graph of its own
        x = Value(x.data - slope.data / grad(slope, x))  # grad(slope, x) = f''(x)
    assert abs(4 * x.data**3 - 6 * x.data + 1) < 1e-12  # f'(x) = 0 at x = 1.1309...

    rosenbrock = lambda x, y: (1 - x) ** 2 + 100 * (y - x * x) ** 2
    assert hessian(rosenbrock, [1.0, 1.0]) == [[802.0, -400.0], [-400.0, 200.0]]


def typed_models_and_ops() -> None:
    """What the README's Typing note says: the types a user states and gets."""
    from autograd_lite import Value, custom_op
    from autograd_lite.custom import CustomOp
    from autograd_lite.nn import MLP
    from autograd_lite.ops import Domain

    x = [0.5, 2.0]
    model = MLP(2, [16, 16, 1])  # unstated: model(x) is Any, as a PyTorch module's call
    score: Value = model(x)
    one: MLP[Value] = MLP(2, [16, 16, 1])  # stated: model(x) is a Value
    out: Value = one(x)
    out.backward()
    many: MLP[list[Value]] = MLP(2, [16, 3])  # several outputs: a list
    outs: list[Value] = many(x)
    total = Value.sum(outs) + score
    grads: list[float] = [p.grad for p in one.parameters()]

    def first_output(model: MLP, x: list[float]) -> Value:  # MLP unsaid is MLP[Any], even under --strict
        result: Value = model(x)
        return result

    print(first_output(one, x))

    @custom_op(derivative=lambda out, x: 1 - out * out, domain=Domain(-3, 3))
    def my_tanh(x: float) -> float:
        return math.tanh(x)

    cube: CustomOp = custom_op(lambda x: x**3, derivative=lambda out, x: 3 * x * x, name="cube")
    y: Value = my_tanh(total) * cube(2.0)
    print(y, grads)


def models_back_from_pytorch() -> None:
    from autograd_lite.nn import MLP, RNN, from_torch

    model: MLP[Value] = MLP(2, [4, 1], seed=0)
    back = from_torch(model.to_torch())  # an MLP or an RNN, as the PyTorch module was
    if isinstance(back, MLP):
        again: MLP[Value] = back
        print(again([0.5, 2.0]).data)
    else:
        rnn: RNN = back
        print(rnn([0.5, 2.0]))
