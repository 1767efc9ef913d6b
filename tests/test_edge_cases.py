"""Nothing silent at the edges (issue 13): the parts built so far."""

from __future__ import annotations

import numpy as np
import pytest

import autograd_lite as al
from autograd_lite import Value


def branchy(w: Value):
    def f(x):
        return (x * w).relu() if x > 0 else x * w * 2  # a data-dependent branch: guards

    return f


@pytest.mark.parametrize(
    "batch", [[], [1.0], [-1.0, -2.0], [1.0, -1.0, 3.0]], ids=["empty", "one", "all-fail", "mixed"]
)
def test_compiled_batches_of_any_size_agree_between_backends(batch):
    w = Value(0.5, label="w")
    cf = al.compile(branchy(w), (1.0,))
    python = cf.batch(batch, backend="python", accumulate=False)
    numpy = cf.batch(np.array(batch), backend="numpy", accumulate=False)
    assert [float(v) for v in numpy.outputs] == python.outputs
    assert [float(g) for g in numpy.params] == python.params
    per = cf.batch(np.array(batch), backend="numpy", per_sample=True)
    assert np.shape(per.params)[0] == len(batch)
    assert list(cf.forward_batch(np.array(batch), backend="numpy")) == cf.forward_batch(batch)
    # and the same as eager, sample by sample
    total = 0.0
    for x in batch:
        w.grad = 0.0
        branchy(w)(Value(x)).backward()
        total += w.grad
    assert python.params == [pytest.approx(total)]
