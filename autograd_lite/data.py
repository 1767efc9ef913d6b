"""Small seeded toy data sets, in pure Python: lists of points and integer labels.

Every generator takes ``seed`` (an int or ``random.Random``) and returns
``(X, y)``: ``X`` a list of ``[x1, x2]`` points, ``y`` a list of class labels
(0/1 for two classes, as scikit-learn). The same seed gives the same data
everywhere.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from typing import Any, TypeVar, Union

__all__ = ["make_circles", "make_moons", "make_spirals", "make_xor", "train_test_split"]

T = TypeVar("T")
Seed = Union[int, random.Random]
Data = tuple[list[list[float]], list[int]]


def _rng(seed: Seed) -> random.Random:
    return seed if isinstance(seed, random.Random) else random.Random(seed)


def _check(n_samples: int, noise: float) -> None:
    if not isinstance(n_samples, int) or n_samples < 2:
        raise ValueError(f"n_samples must be an int >= 2, got {n_samples!r}")
    if noise < 0:
        raise ValueError(f"noise must be >= 0, got {noise!r}")


def _shuffled(rng: random.Random, X: list[list[float]], y: list[int]) -> Data:
    order = list(range(len(X)))
    rng.shuffle(order)
    return [X[i] for i in order], [y[i] for i in order]


def make_moons(n_samples: int = 100, noise: float = 0.1, seed: Seed = 0) -> Data:
    """Two interleaving half circles (class 0 on top, class 1 below), plus Gaussian noise."""
    _check(n_samples, noise)
    rng = _rng(seed)
    n0 = n_samples // 2
    X, y = [], []
    for i in range(n_samples):
        upper = i < n0
        count = n0 if upper else n_samples - n0
        t = math.pi * (i if upper else i - n0) / max(count - 1, 1)
        x1, x2 = (math.cos(t), math.sin(t)) if upper else (1 - math.cos(t), 0.5 - math.sin(t))
        X.append([x1 + rng.gauss(0, noise), x2 + rng.gauss(0, noise)])
        y.append(0 if upper else 1)
    return _shuffled(rng, X, y)


def make_circles(n_samples: int = 100, noise: float = 0.05, factor: float = 0.5, seed: Seed = 0) -> Data:
    """A small circle (class 1, radius ``factor``) inside a large one (class 0, radius 1)."""
    _check(n_samples, noise)
    if not 0 < factor < 1:
        raise ValueError(f"factor must be between 0 and 1, got {factor!r}")
    rng = _rng(seed)
    n0 = n_samples // 2
    X, y = [], []
    for i in range(n_samples):
        outer = i < n0
        count = n0 if outer else n_samples - n0
        t = 2 * math.pi * (i if outer else i - n0) / count
        r = 1.0 if outer else factor
        X.append([r * math.cos(t) + rng.gauss(0, noise), r * math.sin(t) + rng.gauss(0, noise)])
        y.append(0 if outer else 1)
    return _shuffled(rng, X, y)


def make_xor(n_samples: int = 4, noise: float = 0.0, seed: Seed = 0) -> Data:
    """XOR: points near the corners (0,0), (0,1), (1,0), (1,1), labelled x1 XOR x2.

    With the defaults, exactly the four corners in order, the classic XOR table.
    """
    _check(max(n_samples, 2), noise)
    if n_samples < 4:
        raise ValueError(f"make_xor needs n_samples >= 4, got {n_samples}")
    rng = _rng(seed)
    corners = [(0, 0), (0, 1), (1, 0), (1, 1)]
    X, y = [], []
    for i in range(n_samples):
        a, b = corners[i % 4]
        X.append(
            [a + rng.gauss(0, noise) if noise else float(a), b + rng.gauss(0, noise) if noise else float(b)]
        )
        y.append(a ^ b)
    return (X, y) if n_samples == 4 and not noise else _shuffled(rng, X, y)


def make_spirals(n_samples: int = 100, n_classes: int = 2, noise: float = 0.1, seed: Seed = 0) -> Data:
    """``n_classes`` interleaved spiral arms (labels 0..n_classes-1), as in CS231n."""
    _check(n_samples, noise)
    if n_classes < 2:
        raise ValueError(f"n_classes must be >= 2, got {n_classes!r}")
    rng = _rng(seed)
    X, y = [], []
    for i in range(n_samples):
        k = i % n_classes
        r = (i // n_classes) / max(n_samples // n_classes - 1, 1)
        t = 4.0 * r + 2 * math.pi * k / n_classes + rng.gauss(0, noise)
        X.append([r * math.sin(t), r * math.cos(t)])
        y.append(k)
    return _shuffled(rng, X, y)


def train_test_split(
    X: Sequence[T], y: Sequence[Any], test_size: float = 0.25, seed: Seed = 0
) -> tuple[list[T], list[T], list[Any], list[Any]]:
    """Shuffle and split into ``X_train, X_test, y_train, y_test`` (scikit-learn's order).

    ``test_size`` is a fraction (0 < test_size < 1) or a number of samples.
    """
    if len(X) != len(y):
        raise ValueError(f"train_test_split: {len(X)} samples but {len(y)} labels")
    n_test = round(test_size * len(X)) if isinstance(test_size, float) else int(test_size)
    if not 0 < n_test < len(X):
        raise ValueError(f"train_test_split: test_size {test_size!r} leaves no train or no test data")
    order = list(range(len(X)))
    _rng(seed).shuffle(order)
    test, train = order[:n_test], order[n_test:]
    return [X[i] for i in train], [X[i] for i in test], [y[i] for i in train], [y[i] for i in test]
