"""The backend interface: how a traced :class:`~autograd_lite.compiler.trace.Program` is run on a batch.

A backend does two things: it *prepares* a program once (generates code,
builds a schedule; :mod:`~autograd_lite.compiler.core` caches the result per
trace), and it *runs* a batch through it, forward and backward or forward
only. It reports the samples it could not do instead of doing anything about
them:

* ``failed``: samples for which a guard (a comparison made while tracing)
  gives another answer; the program does not apply to them;
* ``invalid``: samples whose guards held but that may fall outside an op's
  domain (``log`` of a negative number, ...: a non-finite result of an op
  that is not total). A backend may instead raise the op's own error
  itself, as the Python backend does.

Everything else is written once, in :mod:`~autograd_lite.compiler.core`,
for every backend: checking the arguments, replaying the failed samples one
by one through the traces (retracing as needed) and the invalid ones alone
(so they raise exactly the error ``backward()`` raises, or give exactly its
numbers where ``backward()`` raises nothing), merging the
gradients of every trace into the full parameter list, adding them into
``.grad``, and giving outputs back in the function's structure.

Adding a backend (as PyTorch's: a program run level by level on tensors,
:mod:`~autograd_lite.compiler.torch_backend`) is one new module with a
:class:`Backend` subclass and one line in :data:`_REGISTRY`; a backend that
runs on other devices than the CPU also overrides :meth:`Backend.on_device`.
Backends import :mod:`~autograd_lite.compiler.trace` and this module, never
:mod:`~autograd_lite.compiler.core`; they are imported
only when first named, so NumPy loads only when the ``numpy`` backend is used.
"""

from __future__ import annotations

import importlib
from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Any, Callable, ClassVar, NamedTuple

from autograd_lite._optional import MissingOptionalDependency
from autograd_lite.compiler.trace import Program, Signature, leaf_count

__all__ = ["Backend", "BatchRun", "backend_names", "get_backend"]


class BatchRun(NamedTuple):
    """What :meth:`Backend.run` and :meth:`Backend.forward` return.

    ``outputs``: one row of flat outputs per sample of the batch, ``(batch,
    n_outputs)``, in the backend's container (a list of tuples, an array);
    the rows of ``failed`` and ``invalid`` samples are placeholders that the
    core overwrites with ``outputs[n] = row``.

    ``params``: the gradients of the program's own parameters
    (:attr:`Program.params <autograd_lite.compiler.trace.Program.params>`,
    in that order), summed over the samples that ran; or, per sample, one row
    per sample of the batch (zeros for failed and invalid ones). ``None`` for
    a forward-only run.

    ``failed`` and ``invalid``: the indices of the samples the backend could
    not do (see the module's docstring), in increasing order, disjoint;
    their numbers must not be in ``params``.
    """

    outputs: Any
    params: Any
    failed: list[int]
    invalid: list[int]


class Backend(ABC):
    """Runs prepared programs on batches. One instance per backend, shared (see :func:`get_backend`).

    The batch, the seeds (output gradients) and the results are in the
    backend's own form: :meth:`inputs`, :meth:`seeds`, :meth:`place` and
    :meth:`results` convert them, and :meth:`sample` / :meth:`seed` read one
    sample back as floats for a replay. The defaults work on Python lists
    (a list of flat sample tuples, one seed tuple per sample); an array
    backend overrides them.
    """

    name: ClassVar[str]

    # -- the two things every backend does -------------------------------------------

    @abstractmethod
    def prepare(self, program: Program) -> Any:
        """Build what running ``program`` needs (code, a schedule). Called once per trace; timed.

        The result is opaque to the core. If it does more work later, lazily,
        it may report the seconds spent in a ``lazy_seconds`` attribute, which
        :attr:`CompiledFunction.compile_seconds` includes.
        """

    @abstractmethod
    def run(
        self, prepared: Any, batch: Any, params: Sequence[float], seeds: Any, per_sample: bool
    ) -> BatchRun:
        """Forward and backward over ``batch`` with these parameter values and output gradients.

        ``batch`` and ``seeds`` come from :meth:`inputs` and :meth:`seeds`.
        Parameter gradients are summed over the samples that ran, or one row
        per sample with ``per_sample``.
        """

    @abstractmethod
    def forward(self, prepared: Any, batch: Any, params: Sequence[float]) -> BatchRun:
        """The forward pass only (``params`` of the result is ``None``)."""

    def on_device(self, device: Any, where: str) -> Backend:
        """This backend on ``device`` (``batch(..., device=...)``); a ``ValueError`` if it has no devices.

        Only a backend that runs elsewhere than the CPU (``torch``) overrides this.
        """
        raise ValueError(
            f"{where}: device= is for backend='torch'; the {self.name!r} backend runs on the CPU, "
            f"got device={device!r}"
        )

    # -- data in this backend's form (defaults: Python lists) -----------------------

    def inputs(self, batched_args: Sequence[Any], signature: Signature) -> Any:
        """The batched arguments (one per argument, leading batch axis) as this backend's batch."""
        return signature.samples(batched_args)

    def seeds(self, grad_outputs: Any, size: int, signature: Signature) -> Any:
        """``grad_outputs`` (``None``, one number, or one per sample) for a batch of ``size`` samples."""
        return signature.seeds(grad_outputs, size)

    def size(self, batch: Any) -> int:
        """How many samples ``batch`` holds."""
        return len(batch)

    def sample(self, batch: Any, n: int) -> tuple[float, ...]:
        """Sample ``n`` of the batch as a flat tuple of floats."""
        return tuple(batch[n])

    def seed(self, seeds: Any, n: int) -> tuple[float, ...]:
        """Sample ``n``'s output gradients as a flat tuple of floats."""
        return tuple(seeds[n])

    def place(self, grads: Any, columns: Sequence[int] | None, width: int, per_sample: bool) -> Any:
        """A run's parameter gradients, moved to their columns among ``width`` parameters (zeros elsewhere).

        ``columns`` is ``None`` when they are already all ``width`` of them, in
        order. The result must support ``full[i] += g`` (summed) or
        ``full[n][i] += g`` (per sample) and is what ``BatchResult.params``
        holds.
        """
        if per_sample:
            return [_place_row(row, columns, width) for row in grads]
        return _place_row(grads, columns, width)

    def results(self, rows: Any, signature: Signature) -> Any:
        """The outputs given back: by default a list with one result per sample, in its structure."""
        return [signature.result(row) for row in rows]


def _place_row(grads: Sequence[float], columns: Sequence[int] | None, width: int) -> list[float]:
    if columns is None:
        return list(grads)
    row = [0.0] * width
    for i, g in zip(columns, grads):
        row[i] = g
    return row


# ----------------------------------------------------------------------------
# The registry: a backend's name -> "module:class", imported on first use.

_REGISTRY: dict[str, str] = {
    "python": "autograd_lite.compiler.python_backend:PythonBackend",
    "numpy": "autograd_lite.compiler.numpy_backend:NumpyBackend",
    "torch": "autograd_lite.compiler.torch_backend:TorchBackend",
}

_INSTANCES: dict[str, Backend] = {}


def backend_names() -> tuple[str, ...]:
    """The names :func:`get_backend` knows, in registry order."""
    return tuple(_REGISTRY)


def _quoted(names: Sequence[str]) -> str:
    quoted = [repr(n) for n in names]
    return quoted[0] if len(quoted) == 1 else f"{', '.join(quoted[:-1])} or {quoted[-1]}"


def get_backend(name: str, where: str = "compile", device: Any = None) -> Backend:
    """The backend called ``name`` (imported on first use); a ``ValueError`` naming the known ones if none is.

    ``where`` starts the error message (the method that was given the name).
    ``device`` (``None``: the backend's default) is passed to :meth:`Backend.on_device`.
    """
    backend = _INSTANCES.get(name) if isinstance(name, str) else None
    if backend is not None:
        return backend if device is None else backend.on_device(device, where)
    if not isinstance(name, str) or name not in _REGISTRY:
        raise ValueError(f"{where}: backend must be {_quoted(backend_names())}, got {name!r}")
    module, _, cls = _REGISTRY[name].partition(":")
    try:
        imported = importlib.import_module(module)
    except MissingOptionalDependency:  # says which extra to install already
        raise
    except ImportError as error:
        raise ImportError(
            f"{where}: backend {name!r} needs {error.name or 'a package that is missing'}: "
            f"pip install 'autograd-lite[{name}]'"
        ) from error
    backend = getattr(imported, cls)()
    _INSTANCES[name] = backend
    return backend if device is None else backend.on_device(device, where)


def batch_matrix(
    batched_args: Sequence[Any],
    signature: Signature,
    convert: Callable[[Any], Any],
    concatenate: Callable[[list[Any]], Any],
    from_samples: Callable[[list[Any]], Any],
) -> Any:
    """The batch as a ``(batch, n_inputs)`` matrix of an array library (NumPy, torch).

    ``convert`` makes one batched argument an array (raising ``TypeError``,
    ``RuntimeError`` or ``ValueError`` for what it cannot read, such as
    Values); ``concatenate`` joins columns side by side; ``from_samples``
    makes the matrix from the per-sample lists of ``signature.samples``,
    the slow path taken for ragged or unreadable batches, whose errors name
    the sample at fault.
    """
    if len(batched_args) != len(signature.in_structure):
        raise TypeError(
            f"compiled function takes {len(signature.in_structure)} batched argument(s), "
            f"got {len(batched_args)}"
        )
    columns: list[Any] = []
    try:
        for i, (arg, s) in enumerate(zip(batched_args, signature.in_structure)):
            try:
                a = convert(arg)
            except (TypeError, RuntimeError):  # Values or other objects: read sample by sample
                raise ValueError from None
            if a.ndim == 0:
                raise ValueError
            columns.append(a.reshape(len(a), -1))
            if columns[-1].shape[1] != leaf_count(s):
                raise TypeError(
                    f"batched argument {i}: each sample has {columns[-1].shape[1]} number(s), "
                    f"expected {leaf_count(s)}"
                )
        if len({c.shape[0] for c in columns}) > 1:
            raise ValueError
    except ValueError:  # ragged or mismatched: check each sample, with a message naming it
        return from_samples(signature.samples(batched_args))
    if not columns:
        raise TypeError("batch: a function without inputs has nothing to batch over; call it instead")
    return concatenate(columns) if len(columns) > 1 else columns[0]
