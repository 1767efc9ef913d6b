"""Misuses ``mypy --strict`` must report, so that tests/test_typing.py can fail.

Each line ending in ``# expect: [code]`` must get exactly that mypy error, and
no other line any (mypy reads this file; nothing here is run).
"""

from __future__ import annotations

from autograd_lite import Value, custom_op
from autograd_lite.custom import exp
from autograd_lite.nn import MLP


def misuses() -> None:
    one: MLP[Value] = MLP(2, [16, 1])
    outs: list[Value] = one([1.0, 2.0])  # expect: [assignment]
    one(["1.0", "2.0"])  # expect: [list-item]
    many: MLP[list[Value]] = MLP(2, [16, 3])
    score: Value = many([1.0, 2.0])  # expect: [assignment]
    strange: MLP[float] = MLP(2, [1])  # expect: [type-var]
    Value("2.0")  # expect: [arg-type]
    custom_op(3.0)  # expect: [call-overload]
    cube = custom_op(lambda x: x**3)
    text: str = cube(Value(2.0))  # expect: [assignment]
    number: float = exp(Value(1.0))  # expect: [assignment]
    print(outs, score, strange, text, number)
