"""The compile layer's backends: the registry, the layering, and the replay they all share."""

from __future__ import annotations

import ast
import importlib.util
import math
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import autograd_lite as al
from autograd_lite import Value
from autograd_lite.compiler import backend as backend_module
from autograd_lite.compiler.backend import Backend, BatchRun, backend_names, get_backend
from autograd_lite.compiler.trace import Program

COMPILER = Path(al.__file__).parent / "compiler"
MODULES = ["trace", "backend", "python_backend", "numpy_backend", "torch_backend", "core"]


def close(a: float, b: float) -> bool:
    return a == b or math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)


# -- the registry ------------------------------------------------------------------------


def test_registry_knows_python_numpy_and_torch_and_keeps_one_instance_each():
    assert backend_names() == ("python", "numpy", "torch")
    present = [n for n in backend_names() if n != "torch" or importlib.util.find_spec("torch") is not None]
    for name in present:  # torch's backend where torch is installed (the version matrix has none)
        backend = get_backend(name)
        assert isinstance(backend, Backend) and backend.name == name
        assert get_backend(name) is backend


@pytest.mark.parametrize("name", ["cuda", "", None, "Python"])
def test_an_unknown_backend_is_a_value_error_naming_the_known_ones(name):
    with pytest.raises(ValueError, match=r"backend must be 'python', 'numpy' or 'torch', got ") as info:
        get_backend(name)
    assert repr(name) in str(info.value)
    cf = al.compile(lambda x: x * 2, (1.0,))
    with pytest.raises(ValueError, match=r"^batch: backend must be 'python', 'numpy' or 'torch'"):
        cf.batch([1.0], backend=name)
    with pytest.raises(ValueError, match=r"^forward_batch: backend must be 'python', 'numpy' or 'torch'"):
        cf.forward_batch([1.0], backend=name)


# -- layering: no import cycle, NumPy only when asked for -----------------------------------


def _imports(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
        elif isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
    return names


@pytest.mark.parametrize("module", MODULES)
def test_each_module_imports_alone_in_a_fresh_interpreter(module):
    done = subprocess.run(
        [sys.executable, "-c", f"import autograd_lite.compiler.{module}"], capture_output=True, text=True
    )
    if module == "torch_backend" and importlib.util.find_spec("torch") is None:
        # without torch (the version matrix installs none): an error that names the extra
        assert 'pip install "autograd-lite[torch]"' in done.stderr, done.stderr
        return
    assert done.returncode == 0, done.stderr


def test_layers_import_only_the_layers_below_them():
    below = {
        "trace": set(),
        "backend": {"trace"},
        "python_backend": {"trace", "backend"},
        "numpy_backend": {"trace", "backend"},
        "torch_backend": {"trace", "backend"},
        "core": {"trace", "backend", "python_backend"},
    }
    for module, allowed in below.items():
        used = {
            name.removeprefix("autograd_lite.compiler.")
            for name in _imports(COMPILER / f"{module}.py")
            if name.startswith("autograd_lite.compiler")
        }
        assert used <= allowed, (module, used - allowed)
        assert "autograd_lite.compiler" not in used, module  # the package would import core


def test_importing_the_package_and_compiling_does_not_import_numpy():
    code = (
        "import sys\n"
        "import autograd_lite, autograd_lite.compiler\n"
        "assert 'numpy' not in sys.modules, 'import'\n"
        "cf = autograd_lite.compile(lambda x: (x * x).tanh(), (1.0,))\n"
        "cf.batch([0.5, 1.5]); cf.forward_batch([0.5]); cf.grad(2.0)\n"
        "assert 'numpy' not in sys.modules, 'the python backend'\n"
        "assert 'autograd_lite.compiler.numpy_backend' not in sys.modules\n"
        "cf.batch([0.5, 1.5], backend='numpy')\n"
        "assert 'numpy' in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


# -- the shared replay: python and numpy give the same numbers -----------------------------


def make_branchy():
    """A function whose two branches use different parameters (the second meets a new one)."""
    w, b, v = Value(0.7, label="w"), Value(-0.3, label="b"), Value(1.9, label="v")

    def f(x, t):
        if x > 0:
            y = (x * w + b).tanh()
        else:
            y = (x * v).sin() + b
        return (y - t) ** 2

    return f, [w, b, v]


XS = [0.5, -1.0, 2.0, -0.25, 0.0, 1.5]
TS = [0.1, -0.2, 0.3, 0.4, -0.5, 0.6]


def eager_branchy(per_sample):
    f, params = make_branchy()
    results = []
    for idx in [[n] for n in range(len(XS))] if per_sample else [list(range(len(XS)))]:
        for p in params:
            p.grad = 0.0
        outs = [f(Value(XS[n]), Value(TS[n])) for n in idx]
        Value.sum(outs).backward()
        results.append(([o.data for o in outs], [p.grad for p in params]))
    return results


@pytest.mark.parametrize("backend", ["python", "numpy"])
@pytest.mark.parametrize("per_sample", [False, True])
def test_samples_whose_guards_fail_are_replayed_the_same_way_on_every_backend(backend, per_sample):
    f, params = make_branchy()
    cf = al.compile(f, (1.0, 0.0))
    assert cf.params == params[:2]  # the first trace has not met v
    result = cf.batch(XS, TS, backend=backend, per_sample=per_sample)
    assert len(cf.traces) == 2 and cf.params == params  # retraced once; v appended
    expected = eager_branchy(per_sample)
    outputs = [float(o) for o in result.outputs]
    if per_sample:
        assert len(result.params) == len(XS)
        for n, (outs, grads) in enumerate(expected):
            assert close(outputs[n], outs[0])
            assert len(result.params[n]) == 3
            assert all(close(float(a), g) for a, g in zip(result.params[n], grads)), n
        assert all(p.grad == 0.0 for p in params)  # per-sample leaves .grad alone
    else:
        ((outs, grads),) = expected
        assert all(close(a, b) for a, b in zip(outputs, outs))
        assert all(close(float(a), g) for a, g in zip(result.params, grads))
        assert all(close(p.grad, g) for p, g in zip(params, grads))  # accumulated
    forward = cf.forward_batch(XS, TS, backend=backend)
    assert all(close(float(a), b) for a, b in zip(forward, outputs))


def test_python_and_numpy_agree_through_the_replay():
    got = {}
    for backend in ("python", "numpy"):
        f, _ = make_branchy()
        cf = al.compile(f, (-1.0, 0.0))  # this time the other branch first
        summed = cf.batch(XS, TS, backend=backend, accumulate=False)
        per = cf.batch(XS, TS, backend=backend, per_sample=True)
        got[backend] = (
            [float(o) for o in summed.outputs],
            [float(g) for g in summed.params],
            [[float(g) for g in row] for row in per.params],
        )
    py, np_ = got["python"], got["numpy"]
    assert all(close(a, b) for a, b in zip(py[0], np_[0]))
    assert all(close(a, b) for a, b in zip(py[1], np_[1]))
    for row_py, row_np in zip(py[2], np_[2]):
        assert all(close(a, b) for a, b in zip(row_py, row_np))


def eager_error(fn, *args):
    with pytest.raises(Exception) as info:  # whatever the eager engine raises
        fn(*[Value(a) for a in args]).backward()
    return type(info.value), str(info.value)


@pytest.mark.parametrize("backend", ["python", "numpy"])
@pytest.mark.parametrize("per_sample", [False, True])
def test_a_sample_outside_an_ops_domain_raises_the_eager_error_and_adds_nothing(backend, per_sample):
    w = Value(1.0)

    def f(x):
        return (x * w).log()

    cf = al.compile(f, (1.0,))
    kind, message = eager_error(f, -2.0)
    assert "log" in message
    w.grad = 0.0
    with pytest.raises(kind) as info:
        cf.batch([1.0, -2.0, 3.0], backend=backend, per_sample=per_sample)
    assert str(info.value) == message
    assert w.grad == 0.0
    with pytest.raises(kind, match=r"log"):
        cf.forward_batch([1.0, -2.0], backend=backend)


@pytest.mark.parametrize("backend", ["python", "numpy"])
def test_a_replayed_sample_outside_the_domain_of_its_own_branch_raises_the_eager_error(backend):
    def f(x):
        if x > 0:
            return x.log() * 2
        return (-x).log() * 3  # log(-0.0) at x = 0: only on the branch the batch's trace did not take

    cf = al.compile(f, (2.0,))
    kind, message = eager_error(f, 0.0)
    with pytest.raises(kind) as info:
        cf.batch([1.0, -2.0, 0.0], backend=backend)
    assert str(info.value) == message


# -- a third backend: one class and one registry line ----------------------------------------


class InterpreterBackend(Backend):
    """The simplest backend there is: interpret the program, instruction by instruction, on floats."""

    name = "interpreter"

    def prepare(self, program: Program) -> Program:
        return program

    def _one(self, program: Program, sample: Sequence[float], params: Sequence[float], seed: Any) -> Any:
        v = [*sample, *params, *program.constants] + [0.0] * len(program.instructions)
        guards = sorted(program.guards, key=lambda g: g.after)
        compare = {"<": float.__lt__, "<=": float.__le__, ">": float.__gt__, ">=": float.__ge__}

        def guards_hold(done: int) -> bool:
            while guards and guards[0].after <= done:
                g = guards.pop(0)
                other = v[g.other] if g.other is not None else g.constant
                if compare[g.cmp](float(v[g.slot]), float(other)) != g.expected:
                    return False
            return True

        if not guards_hold(0):
            return "failed"
        for done, ins in enumerate(program.instructions, start=1):
            args = [v[c] for c in ins.children]
            try:
                v[ins.slot] = args[0] if ins.op is None else float(ins.op.forward(*args))
            except (ValueError, ZeroDivisionError, OverflowError):
                return "invalid"
            if not guards_hold(done):
                return "failed"
        if not guards_hold(len(program.instructions) + 1):
            return "failed"
        g = [0.0] * len(v)
        for s, seed_s in zip(program.outputs, seed):
            g[s] += seed_s
        for ins in reversed(program.instructions):
            if not ins.grad or ins.op is None or not g[ins.slot]:
                continue
            args = [v[c] for c in ins.children]
            d = ins.op.derivative(v[ins.slot], *args)
            ds = [d] if len(args) == 1 and ins.op.arity == 1 else list(d)
            for c, dc in zip(ins.children, ds):
                g[c] += g[ins.slot] * dc
        n_in, n_p = program.n_inputs, len(program.params)
        return tuple(v[s] for s in program.outputs), g[n_in : n_in + n_p]

    def run(self, prepared, batch, params, seeds, per_sample):
        outputs, rows, failed, invalid = [], [], [], []
        total = [0.0] * len(prepared.params)
        for n, (sample, seed) in enumerate(zip(batch, seeds)):
            got = self._one(prepared, sample, params, seed)
            if isinstance(got, str):
                (failed if got == "failed" else invalid).append(n)
                outputs.append(None)
                rows.append([0.0] * len(total))
                continue
            outputs.append(got[0])
            rows.append(got[1])
            total = [a + b for a, b in zip(total, got[1])]
        return BatchRun(outputs, rows if per_sample else total, failed, invalid)

    def forward(self, prepared, batch, params):
        run = self.run(prepared, batch, params, [(0.0,) * len(prepared.outputs)] * len(batch), False)
        return run._replace(params=None)


def test_a_third_backend_is_one_class_and_one_registry_line(monkeypatch):
    monkeypatch.setitem(backend_module._REGISTRY, "interpreter", f"{__name__}:InterpreterBackend")
    monkeypatch.setattr(backend_module, "_INSTANCES", {})
    assert "interpreter" in backend_names()
    for per_sample in (False, True):
        f, _ = make_branchy()
        cf = al.compile(f, (1.0, 0.0))
        result = cf.batch(XS, TS, backend="interpreter", per_sample=per_sample)
        expected = eager_branchy(per_sample)
        rows = result.params if per_sample else [result.params]
        for row, (_, grads) in zip(rows, expected):
            assert all(close(a, g) for a, g in zip(row, grads))
        assert cf.forward_batch(XS, TS, backend="interpreter") == result.outputs

    w = Value(1.0)
    cf = al.compile(lambda x: (x * w).log(), (1.0,))
    kind, message = eager_error(lambda x: (x * w).log(), -2.0)
    w.grad = 0.0
    with pytest.raises(kind) as info:  # the interpreter only reports it: the core's replay raises
        cf.batch([1.0, -2.0], backend="interpreter")
    assert str(info.value) == message and w.grad == 0.0


def test_numpy_results_keep_their_array_types():
    f, _ = make_branchy()
    cf = al.compile(f, (1.0, 0.0))
    summed = cf.batch(XS, TS, backend="numpy", accumulate=False)
    per = cf.batch(XS, TS, backend="numpy", per_sample=True)
    assert isinstance(summed.outputs, np.ndarray) and summed.outputs.shape == (len(XS),)
    assert isinstance(summed.params, np.ndarray) and summed.params.shape == (3,)
    assert isinstance(per.params, np.ndarray) and per.params.shape == (len(XS), 3)
    py = cf.batch(XS, TS, backend="python", accumulate=False)
    assert isinstance(py.outputs, list) and isinstance(py.params, list)
