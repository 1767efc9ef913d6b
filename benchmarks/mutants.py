"""Mutants of the op table, and the test functions that must catch them.

A mutant breaks one op's derivative rule (``target="rule"``) or its forward
(``target="forward"``) in one way (``kind``) and in one *interpretation*:

* ``table``: the op's own rule or forward, so every interpretation made from
  it is broken at once (only an independent check, finite differences or a
  reference forward, can tell);
* ``float``: the rule on floats (``op.derivative``: ``backward()``,
  ``grad()``, ``jvp``) or the forward on floats (``op.forward``);
* ``Value``: the rule on ``Value``s (``create_graph=True``);
* ``NumPy``: the rule and forward on arrays (``compile(...).batch``);
* ``Python``: the rule and forward as symbols, from which the Python
  backend writes its code.

Kinds: ``scale`` (x 1.01) and ``negate`` everywhere; x 1.01 only on part of
the domain of the input the derivative is taken for (the first input for a
forward): ``negative`` (x < 0), ``past-20`` (|x| > 20), ``below-20``
(x < -20), ``tiny`` (|x| < 1e-3); ``param``: a family member with another
member's rule or forward (``leaky_relu`` with the other slope, ``**k`` with
``**(k+1)``); ``swap``: a binary op's inputs swapped.

The mutant is put where the interpretation reads it, through the op table's
own machinery: ``Op.forward``, ``Op.rule``, ``Op.derivative``,
``Op.rule_form`` and the op's cache of made interpretations (``Op._made``),
which is replaced by a :class:`_Router` answering each cache key from a
shadow op made with the mutated or the original rule. Nothing in the
library's source is patched. :func:`mutated` restores the op afterwards.

A mutant that gives the same numbers as the original at every probe point
(the op's test domain and its tails) is *equivalent* (``0 * 1.01 = 0``);
one whose interpretation never read the mutated function is *unreached*,
with the reason: an op whose forward or rule has no symbolic form (a Python
``if``: ``half_leaky``'s forward, ``opaque_cube``'s rule, ``**``'s forward)
is called as it is by generated Python, so its Python interpretation *is*
the float one (that mutant is scored under ``float``). Neither is scored.
Fast paths (``sum`` and ``dot`` written as a chain of additions, NumPy's
matrix product) are taken only while the op's forward and rule have the
exact form they write (``Op.forward_form``, ``Op.rule_form``), so a mutant
of either reaches every interpretation.
"""

from __future__ import annotations

import contextlib
import itertools
import math
import time
from collections.abc import Callable, Iterator
from typing import Any, NamedTuple

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from autograd_lite.ops import OP_FAMILIES, VARIADIC, Op
from autograd_lite.rules import where

REGIONS: dict[str, Callable[[Any], Any]] = {
    "negative": lambda x: x < 0,
    "past-20": lambda x: abs(x) > 20,
    "below-20": lambda x: x < -20,
    "tiny": lambda x: abs(x) < 1e-3,
}
WHOLE: dict[str, Callable[[Any], Any]] = {"scale": lambda d: d * 1.01, "negate": lambda d: -d}
RULE_INTERPRETATIONS = ("table", "float", "Value", "NumPy", "Python")
FORWARD_INTERPRETATIONS = ("table", "float", "NumPy", "Python")
MUTATED_KEYS = {  # the cache keys (Op._made) each interpretation reads: of the rule, of the forward
    "rule": {
        "table": ("rule", "interpretation"),
        "float": (),
        "Value": ("interpretation:value",),
        "NumPy": ("interpretation:array",),
        "Python": ("rule",),
    },
    "forward": {
        "table": ("forward", "array forward"),
        "float": (),
        "Value": (),
        "NumPy": ("array forward",),
        "Python": ("forward",),
    },
}


class Mutant(NamedTuple):
    op: str
    target: str  # "rule" or "forward"
    slot: int | str  # the input whose derivative (or, for a forward, the region's input); "all"
    kind: str
    interpretation: str

    @property
    def spec(self) -> str:
        return f"{self.op}@{self.target}@{self.slot}@{self.kind}@{self.interpretation}"

    @classmethod
    def parse(cls, spec: str) -> Mutant:
        op, target, slot, kind, interpretation = spec.rsplit("@", 4)
        return cls(op, target, slot if slot == "all" else int(slot), kind, interpretation)


def table() -> list[Op]:
    """The ops the tests walk: the op table's, and the custom ops of the interpretation test."""
    from tests.test_interpretations import OPS

    return list(OPS)


def op_named(name: str) -> Op:
    ops = {str(op): op for op in table()}
    if name not in ops:
        raise SystemExit(f"no op {name!r} in the table; choose from {sorted(ops)}")
    return ops[name]


def _kinds(op: Op, target: str) -> list[str]:
    kinds = [*WHOLE, *REGIONS] if target == "rule" else ["scale", *REGIONS]
    if op.family is not None:
        kinds.append("param")
    if op.arity == 2:
        kinds.append("swap")
    return kinds


def _slots(op: Op, target: str, kind: str) -> list[int | str]:
    if target == "forward" or kind in ("param", "swap"):
        return [0]
    return ["all", 0] if op.arity == VARIADIC else list(range(op.arity))


def all_mutants() -> list[Mutant]:
    """Every mutant: op x target x kind x slot x interpretation."""
    out = []
    for op in table():
        for target, interpretations in (("rule", RULE_INTERPRETATIONS), ("forward", FORWARD_INTERPRETATIONS)):
            for kind in _kinds(op, target):
                for slot in _slots(op, target, kind):
                    out += [Mutant(str(op), target, slot, kind, i) for i in interpretations]
    return out


# -- the mutated functions -------------------------------------------------------------


def sibling(op: Op) -> Op:
    """Another member of the op's family: the other slope, or ``**(k+1)``."""
    assert op.family is not None and op.parameter is not None
    if op.family == "leaky_relu":
        return OP_FAMILIES["leaky_relu"](0.01 if op.parameter != 0.01 else 0.2)
    return OP_FAMILIES[op.family](op.parameter + 1)


def _change(kind: str, d: Any, x: Any) -> Any:
    if kind in WHOLE:
        return WHOLE[kind](d)
    return where(REGIONS[kind](x), d * 1.01, d)  # where: one rule for floats, Values, arrays, symbols


def mutated_rule(op: Op, slot: int | str, kind: str) -> Callable[..., Any]:
    original = op.rule
    if kind == "param":
        return sibling(op).rule
    if kind == "swap":
        return lambda out, a, b: original(out, b, a)

    def rule(out: Any, *xs: Any) -> Any:
        ds = original(out, *xs)
        if op.arity == 1:
            return _change(kind, ds[0] if isinstance(ds, (list, tuple)) else ds, xs[0])
        ds = list(ds)
        for i in range(len(ds)) if slot == "all" else [slot]:
            ds[i] = _change(kind, ds[i], xs[i])  # type: ignore[index]
        return ds

    return rule


def mutated_forward(op: Op, kind: str) -> Callable[..., Any]:
    original = op.forward
    if kind == "param":
        return sibling(op).forward
    if kind == "swap":
        return lambda a, b: original(b, a)
    return lambda *xs: _change(kind, original(*xs), xs[0])


def _shadow(op: Op, forward: Callable[..., Any], rule: Callable[..., Any]) -> Op:
    return Op(str(op), forward, rule, op.arity, op.domain, total=op.total, family=op.family,
              parameter=op.parameter)  # fmt: skip


class _Reach:
    """How often the mutated function was read (0: the interpretation never used it), and why not."""

    def __init__(self) -> None:
        self.count = 0
        self.opaque: set[str] = set()  # cache keys asked for whose mutant has no symbolic form

    def counting(self, fn: Callable[..., Any]) -> Callable[..., Any]:
        def counted(*args: Any) -> Any:
            self.count += 1
            return fn(*args)

        return counted


def _made_by(shadow: Op, key: tuple[Any, ...]) -> Any:
    """What ``shadow`` makes for the cache key ``key`` of Op._made."""
    if key[0] == "rule":
        return shadow.symbolic_rule(key[1])
    if key[0] == "forward":
        return shadow.symbolic_forward(key[1])
    if key[0] == "interpretation":
        return shadow.interpretation(key[1], key[2])
    if key[0] == "array forward":
        return shadow.forward_on_arrays(key[1])
    raise KeyError(f"Op cache key {key!r} unknown to benchmarks/mutants.py: teach _made_by and MUTATED_KEYS")


class _Router(dict):  # type: ignore[type-arg]
    """Op._made answering each key from the mutant's shadow op or the original's."""

    def __init__(self, original: Op, mutant: Op, mutated: tuple[str, ...], reach: _Reach) -> None:
        super().__init__()
        self.original, self.mutant, self.mutated, self.reach = original, mutant, mutated, reach

    def __contains__(self, key: object) -> bool:
        return True

    def __getitem__(self, key: Any) -> Any:
        names = {key[0], f"{key[0]}:{key[1]}"}
        if names & set(self.mutated):
            made = _made_by(self.mutant, key)
            if made is None:  # no symbolic form: the interpretation calls op.forward/op.derivative instead
                self.reach.opaque.add(key[0])
            else:
                self.reach.count += 1
            return made
        return _made_by(self.original, key)


@contextlib.contextmanager
def mutated(m: Mutant) -> Iterator[_Reach]:
    """The op of ``m`` broken as ``m`` says while in the block; restored after it."""
    op, reach = op_named(m.op), _Reach()
    saved = dict(op.__dict__)
    original = _shadow(op, op.forward, op.rule)
    if m.target == "rule":
        mutant = _shadow(op, op.forward, mutated_rule(op, m.slot, m.kind))
    else:
        mutant = _shadow(op, mutated_forward(op, m.kind), op.rule)
    everywhere = m.interpretation in ("table", "float")
    keys = MUTATED_KEYS[m.target][m.interpretation]
    # the form a fast path (sum, dot) checks before writing its own sum, as the interpretation sees it
    sees_forward = m.target == "forward" and m.interpretation in ("table", "NumPy", "Python")
    op.__dict__["forward_form"] = (mutant if sees_forward else original).forward_form
    if m.target == "forward":
        op.forward = reach.counting(mutant.forward) if everywhere else original.forward
        op.rule = original.rule
        op.__dict__["derivative"] = original.derivative
        op.__dict__["rule_form"] = original.rule_form
    else:
        op.forward = original.forward
        variadic_value = op.arity == VARIADIC and m.interpretation == "Value"  # read from op.rule
        rule_mutated = m.interpretation == "table" or variadic_value
        op.rule = reach.counting(mutant.rule) if rule_mutated else original.rule
        op.__dict__["derivative"] = reach.counting(mutant.derivative) if everywhere else original.derivative
        # a fast path (dot, sum) applies the rule only while it is the original's
        op.__dict__["rule_form"] = mutant.rule_form if m.interpretation == "table" else None
    op.__dict__["_made"] = _Router(original, mutant, keys, reach)
    try:
        yield reach
    finally:
        op.__dict__.clear()
        op.__dict__.update(saved)


# -- equivalent mutants: the same numbers at every probe point ---------------------------

_MAGNITUDES = (20.5, 21.0, 23.0, 30.0, 60.0, 200.0, 650.0, 1e-6, 1e-5, 1e-4, 9e-4)


def _probe_values(domain: Any) -> list[float]:
    """The test domain (9 points) and its tails on each side it reaches (as the tests draw them)."""
    spots = (0.03, 0.15, 0.27, 0.4, 0.52, 0.64, 0.76, 0.88, 0.97)
    values = [domain.low + t * (domain.high - domain.low) for t in spots]
    signs = [s for s, reached in ((1.0, domain.high > 0), (-1.0, domain.low < 0)) if reached]
    return values + [s * m for s in signs for m in _MAGNITUDES]


def _probe_points(op: Op) -> Iterator[list[float]]:
    if op.arity == VARIADIC:
        base = [0.37, -1.3, 2.1]
        for i, v in itertools.product(range(3), _probe_values(op.domain[0])):
            yield [v if j == i else b for j, b in enumerate(base)]
        return
    yield from (list(p) for p in itertools.product(*[_probe_values(d) for d in op.domain]))


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, (list, tuple)):
        return all(_same(x, y) for x, y in zip(a, b))
    return a == b or (math.isnan(a) and math.isnan(b))


def equivalent(m: Mutant) -> bool:
    """Whether the mutated function gives the original's numbers at every probe point."""
    op = op_named(m.op)
    original = _shadow(op, op.forward, op.rule)
    if m.target == "rule":
        mutant = _shadow(op, op.forward, mutated_rule(op, m.slot, m.kind))
    else:
        mutant = _shadow(op, mutated_forward(op, m.kind), op.rule)
    for point in _probe_points(op):
        try:
            out = original.forward(*point)
            if not math.isfinite(out):
                continue
            if m.target == "forward":
                if not _same(mutant.forward(*point), out):
                    return False
            elif not _same(mutant.derivative(out, *point), original.derivative(out, *point)):
                return False
        except (ArithmeticError, ValueError):
            continue
    return True


# -- the checks: test functions, run here with a derandomized, non-shrinking Hypothesis ---------


def _checks() -> dict[str, Callable[[Op], None]]:
    from tests import test_interpretations as ti
    from tests import test_op_table as tt

    def run(test: Any, **kwargs: Any) -> Callable[[Op], None]:
        inner = test.hypothesis.inner_test
        examples = test._hypothesis_internal_use_settings.max_examples
        phases = (Phase.explicit, Phase.generate)  # no shrinking: a caught mutant is all we need
        quiet = settings(max_examples=examples, database=None, derandomize=True, deadline=None,
                         phases=phases, suppress_health_check=list(HealthCheck))  # fmt: skip
        return lambda op: settings(quiet)(given(data=st.data())(inner))(op=op, **kwargs)

    def reference(op: Op) -> None:
        if op in tt.REFERENCE:  # built-in ops and family members (custom ops have no reference)
            run(tt.test_forward_matches_an_independent_reference)(op)

    checks = {
        "finite differences": run(tt.test_derivative_matches_finite_differences),
        "tails, gradcheck relative": run(tt.test_derivative_in_the_tails),
        "reference forward": reference,
        "eager": run(ti.test_eager_backward),
        "create_graph": run(ti.test_create_graph),
        "forward mode": run(ti.test_forward_mode),
        "compiled Python": run(ti.test_compiled_python),
        "NumPy batch": run(ti.test_numpy_batch),
    }
    for name in ti.INTERPRETED:
        checks[f"tails: {name}"] = run(ti.test_tails, interpretation=name)
        checks[f"near zero: {name}"] = run(ti.test_each_input_near_zero, interpretation=name)
    return checks


FIRST = {  # the checks that look at an interpretation, tried first
    "table": ["reference forward", "tails, gradcheck relative", "finite differences"],
    "float": ["eager", "tails: eager", "near zero: eager", "forward mode"],
    "Value": ["create_graph", "tails: create_graph", "near zero: create_graph"],
    "NumPy": ["NumPy batch", "tails: NumPy batch", "near zero: NumPy batch"],
    "Python": ["compiled Python", "tails: compiled Python", "near zero: compiled Python"],
}


class Outcome(NamedTuple):
    mutant: Mutant
    status: str  # "caught", "survived", "equivalent", "unreached"
    by: str
    seconds: float


def baseline(op: Op, checks: dict[str, Callable[[Op], None]] | None = None) -> None:
    """Every check passes on the unmutated op, or the score means nothing (raises otherwise)."""
    for name, check in (checks or _checks()).items():
        try:
            check(op)
        except Exception as err:
            raise RuntimeError(f"the unmutated check {name!r} fails for {op}: {err}") from err


_READERS = {"table": "eager", "float": "eager", "Value": "create_graph", "NumPy": "NumPy batch",
            "Python": "compiled Python"}  # fmt: skip


def _unreached(m: Mutant) -> str | None:
    """Why the interpretation never reads the mutated function (at a point of the test domain), or None."""
    from tests.test_interpretations import INTERPRETED

    op = op_named(m.op)
    point = [d.low + 0.37 * (d.high - d.low) for d in op.domain] * (3 if op.arity == VARIADIC else 1)
    with mutated(m) as reach:
        with contextlib.suppress(Exception):  # a mutant may fail here: it was read
            INTERPRETED[_READERS[m.interpretation]](op, point)
    if reach.count:
        return None
    if reach.opaque:
        called = "op.forward" if m.target == "forward" else "op.derivative"
        float_mutant = m._replace(interpretation="float").spec
        return (f"its {m.target} has no symbolic form (Python `if`/math): {m.interpretation} calls {called}, "
                f"the float interpretation, whose mutant is {float_mutant}")  # fmt: skip
    return f"{m.interpretation} never reads the op's {m.target} (a structural fast path)"


def run(m: Mutant, checks: dict[str, Callable[[Op], None]] | None = None) -> Outcome:
    """Run the checks against ``m`` (equivalent mutants are not run)."""
    start = time.perf_counter()
    if equivalent(m):
        return Outcome(m, "equivalent", "same numbers at every probe point", 0.0)
    why = _unreached(m)
    if why is not None:
        return Outcome(m, "unreached", why, time.perf_counter() - start)
    checks = checks or _checks()
    order = FIRST[m.interpretation] + [n for n in checks if n not in FIRST[m.interpretation]]
    op = op_named(m.op)
    with mutated(m) as reach:
        for name in order:
            try:
                checks[name](op)
            except Exception as err:  # the test failed: the mutant is caught
                return Outcome(m, "caught", f"{name} ({type(err).__name__})", time.perf_counter() - start)
    status = "survived" if reach.count else "unreached"
    return Outcome(m, status, "every check passed", time.perf_counter() - start)
