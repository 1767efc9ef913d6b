"""Module.save() and load(): every bad file named and refused whole (issue 13, "Files").

Binary, not JSON, deeply nested, 5,000-digit numbers, another version,
another model or architecture: ``load()`` raises a ``ValueError`` that names
the file and what is wrong, and changes no parameter. ``save()`` refuses a
model that is not finite and leaves an existing file alone.
"""

from __future__ import annotations

import json
import os

import pytest

from autograd_lite import Value
from autograd_lite.nn import MLP, RNN, Layer, Module, Neuron
from tests.test_optim_all_or_nothing import DataTripwire


def saved(tmp_path, model, name="model.json"):
    path = tmp_path / name
    model.save(path)
    return path


def document(model):
    return {
        "format": "autograd_lite.state_dict",
        "version": 1,
        "model": type(model).__name__,
        "parameters": model.state_dict(),
    }


def refuse(tmp_path, content, message, model=None):
    path = tmp_path / "bad.json"
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    model = model or MLP(2, [4, 1], seed=1)
    before = model.state_dict()
    with pytest.raises(ValueError, match=message) as info:
        model.load(path)
    assert str(info.value).startswith(f"{path}: ")
    assert model.state_dict() == before
    return str(info.value)


def test_a_binary_file_is_named_not_a_unicode_error(tmp_path):
    refuse(
        tmp_path,
        b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR",
        r"not a text file \(byte 0x89 at offset 0 is not UTF-8\)",
    )


def test_a_deeply_nested_file_is_named_not_a_recursion_error(tmp_path):
    refuse(tmp_path, "[" * 100_000 + "]" * 100_000, "JSON nested too deeply")
    refuse(tmp_path, '{"a": ' * 50_000 + "1" + "}" * 50_000, "JSON nested too deeply")


def test_numbers_of_5000_digits_are_named(tmp_path):
    model = MLP(2, [4, 1], seed=1)
    text = json.dumps(document(model)).replace(repr(model.layers[0].neurons[0].b.data), "9" * 5000, 1)
    message = refuse(tmp_path, text, r"not a finite number: layers\.0\.neurons\.0\.b=inf")
    assert len(message) < 1000
    refuse(tmp_path, "1" * 5000, "not an autograd_lite state file")
    big_version = json.dumps(document(model)).replace('"version": 1', '"version": ' + "1" * 5000)
    refuse(tmp_path, big_version, "file format version inf")


@pytest.mark.parametrize(
    ("version", "shown"), [(2, "2"), ("1", "'1'"), (True, "True"), (1.5, "1.5"), (None, "None")]
)
def test_another_version_is_refused(tmp_path, version, shown):
    model = MLP(2, [4, 1], seed=1)
    text = json.dumps({**document(model), "version": version})
    refuse(tmp_path, text, rf"file format version {shown}; this autograd_lite reads version 1")


def test_a_file_of_another_model_class_is_refused(tmp_path):
    path = saved(tmp_path, RNN(1, 3, seed=0))
    refuse(tmp_path, path.read_bytes(), "the file holds a model of class RNN, this is a model of class MLP")


@pytest.mark.parametrize(
    ("saved_model", "loading", "message"),
    [
        (MLP(2, [8, 1], seed=0), MLP(2, [4, 1], seed=1), r"layer layers\.0: nout 8 in the file, 4 here"),
        (MLP(3, [4, 1], seed=0), MLP(2, [4, 1], seed=1), r"layer layers\.0: nin 3 in the file, 2 here"),
        (
            MLP(2, [4, 4, 1], seed=0),
            MLP(2, [4, 1], seed=1),
            r"layer layers\.1: nout 4 in the file, 1 here.*layers\.2: 4 -> 1 linear; this MLP's",
        ),
        (
            MLP(2, [4, 1], activation="tanh", seed=0),
            MLP(2, [4, 1], seed=1),
            r"activation 'tanh' in the file, 'relu' here",
        ),
        (
            MLP(2, [4, 1], output_activation="sigmoid", seed=0),
            MLP(2, [4, 1], seed=1),
            r"layers\.1: activation 'sigmoid'",
        ),
        (
            RNN(1, 3, seed=0),
            RNN(1, 4, seed=1),
            r"layer cell\.units: nin 4 in the file, 5 here, nout 3 in the file, 4 here",
        ),
        (
            RNN(1, 3, activation="relu", seed=0),
            RNN(1, 3, seed=1),
            r"activation 'relu' in the file, 'tanh' here",
        ),
    ],
)
def test_a_file_of_another_architecture_is_refused_saying_how(tmp_path, saved_model, loading, message):
    path = saved(tmp_path, saved_model)
    text = refuse(tmp_path, path.read_bytes(), message, model=loading)
    assert "has another architecture" in text and "the file's: " in text


def test_the_architecture_is_what_save_writes(tmp_path):
    path = saved(tmp_path, MLP(2, [16, 16, 1], seed=0))
    assert json.loads(path.read_text())["architecture"] == {
        "layers": [
            {"path": "layers.0", "nin": 2, "nout": 16, "activation": "relu"},
            {"path": "layers.1", "nin": 16, "nout": 16, "activation": "relu"},
            {"path": "layers.2", "nin": 16, "nout": 1, "activation": "linear"},
        ]
    }


@pytest.mark.parametrize(
    "make",
    [
        lambda: MLP(2, [4, 1], seed=0),
        lambda: RNN(2, 3, 2, seed=0),
        lambda: Layer(3, 2, "tanh", seed=0),
        lambda: Neuron(3, "sigmoid", seed=0),
        lambda: MLP(2, [3, 1], activation=lambda v: v.tanh() * 2, seed=0),
    ],
)
def test_save_then_load_round_trips(tmp_path, make):
    source, target = make(), make()
    for p in target.parameters():
        p.data = 0.25
    target.load(saved(tmp_path, source))
    assert target.state_dict() == source.state_dict()


def test_a_file_without_version_model_or_architecture_loads_by_names(tmp_path):
    source, target = MLP(2, [4, 1], seed=0), MLP(2, [4, 1], seed=1)
    path = tmp_path / "old.json"
    path.write_text(json.dumps({"format": "autograd_lite.state_dict", "parameters": source.state_dict()}))
    target.load(path)
    assert target.state_dict() == source.state_dict()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("", "not a JSON file"),
        (
            '{"format": "autograd_lite.state_dict", "parameters": {"a": 1, "a": 2}}',
            "the key 'a' appears twice",
        ),
        (
            '{"format": "autograd_lite.state_dict", "architecture": [1], "parameters": {}}',
            '"architecture" is not what',
        ),
        ('{"format": "autograd_lite.state_dict", "parameters": [1.0]}', 'has no "parameters" object'),
        ('{"format": "autograd_lite.state_dict", "model": 7, "parameters": {}}', "model of class 7"),
    ],
)
def test_other_bad_files_are_named(tmp_path, content, message):
    refuse(tmp_path, content, message)


AssignTripwire = DataTripwire  # a parameter that refuses (KeyboardInterrupt) the first assignment, once armed


class Pair(Module):
    def __init__(self):
        self.a, self.b, self.c = Value(1.0), AssignTripwire(2.0), Value(3.0)


def test_a_load_interrupted_halfway_puts_every_parameter_back(tmp_path):
    source, target = Pair(), Pair()
    for p, v in zip(source.parameters(), [10.0, 20.0, 30.0]):
        p.data = v
    path = saved(tmp_path, source)
    target.b.armed = True
    with pytest.raises(KeyboardInterrupt):
        target.load(path)  # a is assigned, then Ctrl-C arrives at b
    assert target.state_dict() == {"a": 1.0, "b": 2.0, "c": 3.0}
    target.load(path)
    assert target.state_dict() == {"a": 10.0, "b": 20.0, "c": 30.0}


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), float("-inf")])
def test_save_refuses_a_model_that_is_not_finite_and_writes_nothing(tmp_path, bad):
    path = saved(tmp_path, MLP(2, [4, 1], seed=1))
    old = path.read_bytes()
    model = MLP(2, [4, 1], seed=2)
    model.layers[1].neurons[0].w[2].data = bad
    with pytest.raises(
        ValueError, match=rf"{path}: not saved: 1 of this MLP's 17 parameters is not finite"
    ) as info:
        model.save(path)
    assert f"layers.1.neurons.0.w.2={bad!r}" in str(info.value)
    assert path.read_bytes() == old
    with pytest.raises(ValueError, match="nothing was written"):
        model.save(tmp_path / "new.json")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.json"]


def test_a_missing_file_is_named(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"nowhere\.json"):
        MLP(2, [4, 1], seed=0).load(tmp_path / "nowhere.json")


def test_save_still_replaces_atomically(tmp_path, monkeypatch):
    path = saved(tmp_path, MLP(2, [4, 1], seed=1))
    old = path.read_bytes()
    monkeypatch.setattr(os, "replace", lambda src, dst: (_ for _ in ()).throw(OSError("disk full")))
    with pytest.raises(OSError, match="disk full"):
        MLP(2, [4, 1], seed=2).save(path)
    assert path.read_bytes() == old and [p.name for p in tmp_path.iterdir()] == ["model.json"]
