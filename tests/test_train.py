"""fit(): each stopping reason, learning XOR, moons and a sequence; toy data."""

from __future__ import annotations

import random

import pytest

from autograd_lite import Value
from autograd_lite.data import make_circles, make_moons, make_spirals, make_xor, train_test_split
from autograd_lite.losses import mse
from autograd_lite.nn import MLP, RNN
from autograd_lite.optim import SGD, Adam
from autograd_lite.train import History, evaluate, fit


def xor_pm1():
    X, y = make_xor()
    return X, [2 * t - 1 for t in y]


def test_a_2_4_1_network_learns_xor():
    X, y = make_xor()
    model = MLP(2, [4, 1], activation="tanh", seed=1)
    history = fit(model, X, y, loss="bce", optimizer=Adam(model.parameters(), lr=0.05), epochs=400, tol=0.02)
    assert history.stop_reason == "tol"
    assert evaluate(model, X, y, loss="bce")[1] == 1.0


@pytest.mark.slow
def test_moons_mlp_reaches_97_percent_held_out():
    X, labels = make_moons(200, noise=0.1, seed=0)
    y = [2 * t - 1 for t in labels]
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, seed=0)
    model = MLP(2, [16, 16, 1], seed=0)
    fit(model, X_train, y_train, loss="hinge", lr=lambda k: 1.0 - 0.9 * k / 100, l2=1e-4, epochs=100)
    _, accuracy = evaluate(model, X_test, y_test, loss="hinge")
    assert accuracy >= 0.97


def test_an_rnn_learns_a_memory_task_a_memoryless_network_cannot():
    # Echo the previous input, y_t = x_(t-1), judged on held-out sequences: the current input
    # says nothing about the previous one, so only a network with memory can do it.
    rng = random.Random(0)
    train_seqs = [[rng.uniform(-1, 1) for _ in range(6)] for _ in range(8)]
    test_seqs = [[rng.uniform(-1, 1) for _ in range(6)] for _ in range(6)]

    def echo_pairs(seqs):
        return [([seq[t]], seq[t - 1]) for seq in seqs for t in range(1, len(seq))]

    def rnn_error(model, seqs):
        errors = [(o - prev) ** 2 for seq in seqs for o, prev in zip(model(seq)[1:], seq[:-1])]
        return Value.sum(errors) / len(errors)

    rnn = RNN(1, 4, seed=2)
    opt = Adam(rnn.parameters(), lr=0.05)
    for _ in range(200):
        loss = rnn_error(rnn, train_seqs)
        opt.zero_grad()
        loss.backward()
        opt.step()

    X, y = zip(*echo_pairs(train_seqs))
    memoryless = MLP(1, [8, 1], activation="tanh", seed=2)  # sees only the current input
    fit(
        memoryless, list(X), list(y), loss="mse", optimizer=Adam(memoryless.parameters(), lr=0.05), epochs=200
    )

    X_test, y_test = zip(*echo_pairs(test_seqs))
    variance = sum((t - sum(y_test) / len(y_test)) ** 2 for t in y_test) / len(y_test)
    assert rnn_error(rnn, test_seqs).data < 0.1 * variance
    assert evaluate(memoryless, list(X_test), list(y_test))[0] > 0.8 * variance


def test_stops_at_tol():
    X, y = xor_pm1()
    h = fit(MLP(2, [8, 1], seed=0), X, y, loss="mse", lr=0.05, epochs=2000, tol=0.05)
    assert h.stop_reason == "tol" and h.loss[-1] <= 0.05 and h.epochs < 2000


def test_stops_at_max_iter_counting_steps():
    X, y = make_moons(40, seed=1)
    h = fit(MLP(2, [4, 1], seed=0), X, y, loss="bce", epochs=50, max_iter=7, batch_size=10)
    assert h.stop_reason == "max_iter" and h.iterations == 7 and h.epochs == 2


def test_stops_after_epochs():
    X, y = xor_pm1()
    h = fit(MLP(2, [4, 1], seed=0), X, y, epochs=5)
    assert h.stop_reason == "epochs" and h.epochs == 5 and h.iterations == 5


def test_patience_stops_and_restores_the_best_weights():
    X, y = xor_pm1()
    model = MLP(2, [4, 1], seed=0)
    states = [model.state_dict()]  # states[e]: the weights epoch e starts with
    h = fit(
        model, X, y, lr=0.5, epochs=500, patience=3,
        optimizer=SGD(model.parameters(), lr=lambda k: 0.05 if k < 20 else 3.0),  # diverges after 20 steps
        callback=lambda epoch, hist: states.append(model.state_dict()),
    )  # fmt: skip
    assert h.stop_reason == "patience"
    assert h.epochs - 1 - h.best_epoch == 3
    assert min(h.loss) == h.loss[h.best_epoch]
    # loss[e] is measured before epoch e's update, so the best weights are those entering best_epoch
    assert model.state_dict() == states[h.best_epoch]


def test_patience_monitors_validation_loss():
    X, y = make_moons(60, noise=0.3, seed=0)
    model = MLP(2, [16, 1], seed=0)
    states = []  # states[e]: the weights epoch e ends with
    h = fit(
        model, X, y, loss="bce", epochs=300, validation_split=0.3, patience=5,
        optimizer=SGD(model.parameters(), lr=lambda k: 0.1 if k < 30 else 5.0),
        callback=lambda epoch, hist: states.append(model.state_dict()),
    )  # fmt: skip
    assert len(h.val_loss) == h.epochs and len(h.val_accuracy) == h.epochs
    assert h.stop_reason == "patience"
    assert h.val_loss[h.best_epoch] == min(h.val_loss)
    assert model.state_dict() == states[h.best_epoch]


def test_callback_can_stop_training():
    X, y = xor_pm1()
    h = fit(MLP(2, [4, 1], seed=0), X, y, epochs=50, callback=lambda epoch, hist: epoch == 2)
    assert h.stop_reason == "callback" and h.epochs == 3


def test_ctrl_c_stops_cleanly_with_the_model_intact():
    X, y = xor_pm1()
    model = MLP(2, [4, 1], seed=0)
    seen = []

    def interrupt(epoch, history):
        seen.append(model.state_dict())
        if epoch == 3:
            raise KeyboardInterrupt

    h = fit(model, X, y, epochs=50, callback=interrupt)
    assert h.stop_reason == "interrupted" and h.epochs == 4
    assert model.state_dict() == seen[-1]


def test_ctrl_c_during_an_update_rolls_it_back():
    X, y = xor_pm1()
    model = MLP(2, [4, 1], seed=0)

    class Flaky(SGD):
        def _update(self, lr):
            if self.steps == 2:
                self.parameters[0].data += 100.0  # half-done update...
                raise KeyboardInterrupt  # ...when Ctrl-C arrives
            super()._update(lr)

    states = []
    h = fit(model, X, y, epochs=10, optimizer=Flaky(model.parameters(), lr=0.1),
            callback=lambda e, hist: states.append(model.state_dict()))  # fmt: skip
    assert h.stop_reason == "interrupted"
    assert model.state_dict() == states[-1]


def test_mini_batches_are_seeded():
    X, y = make_moons(40, seed=3)
    runs = [
        fit(MLP(2, [4, 1], seed=0), X, y, loss="bce", epochs=3, batch_size=8, seed=11).loss for _ in range(2)
    ]
    other = fit(MLP(2, [4, 1], seed=0), X, y, loss="bce", epochs=3, batch_size=8, seed=12).loss
    assert runs[0] == runs[1] != other


def test_cross_entropy_training_on_spirals_improves():
    X, y = make_spirals(60, n_classes=3, seed=0)
    model = MLP(2, [16, 3], activation="tanh", seed=0)
    h = fit(model, X, y, loss="cross_entropy", optimizer=Adam(model.parameters(), lr=0.03), epochs=60)
    assert h.loss[-1] < 0.7 * h.loss[0] and h.accuracy[-1] > h.accuracy[0]


def test_custom_loss_function():
    X, y = xor_pm1()
    h = fit(MLP(2, [4, 1], seed=0), X, y, loss=lambda p, t: mse(p, t) * 2, epochs=3)
    assert len(h.loss) == 3 and not h.accuracy


def test_fit_rejects_bad_arguments():
    X, y = xor_pm1()
    with pytest.raises(ValueError, match="4 samples but 3 targets"):
        fit(MLP(2, [1], seed=0), X, y[:3])
    with pytest.raises(ValueError, match="unknown loss 'l1'"):
        fit(MLP(2, [1], seed=0), X, y, loss="l1")
    with pytest.raises(ValueError, match="validation_split"):
        fit(MLP(2, [1], seed=0), X, y, validation_split=1.5)


def test_progress_bar_only_when_asked_or_on_a_terminal(capsys):
    X, y = xor_pm1()
    fit(MLP(2, [2, 1], seed=0), X, y, epochs=2)
    assert "epoch" not in capsys.readouterr().err  # pytest's stderr is not a terminal
    fit(MLP(2, [2, 1], seed=0), X, y, epochs=2, progress=True)
    assert "2/2" in capsys.readouterr().err


def test_history_plots_itself(tmp_path):
    pytest.importorskip("matplotlib")
    X, y = xor_pm1()
    h = fit(MLP(2, [4, 1], seed=0), X, y, loss="hinge", epochs=5, validation_data=(X, y))
    path = tmp_path / "loss.png"
    ax = h.plot(path=path)
    assert path.read_bytes()[:4] == b"\x89PNG"
    assert len(ax.get_lines()) >= 2
    assert isinstance(h, History) and h.stop_reason in ax.get_title()


@pytest.mark.parametrize("make", [make_moons, make_circles, make_spirals])
def test_toy_data_is_seeded_and_balanced(make):
    X1, y1 = make(50, seed=4)
    X2, y2 = make(50, seed=4)
    X3, _ = make(50, seed=5)
    assert (X1, y1) == (X2, y2) and X1 != X3
    assert len(X1) == 50 and all(len(x) == 2 for x in X1)
    counts = [y1.count(k) for k in sorted(set(y1))]
    assert max(counts) - min(counts) <= 1


def test_moons_have_their_shape():
    X, y = make_moons(200, noise=0.0, seed=0)
    top = [x for x, t in zip(X, y) if t == 0]
    bottom = [x for x, t in zip(X, y) if t == 1]
    assert all(abs((a**2 + b**2) - 1) < 1e-9 and b >= -1e-12 for a, b in top)
    assert all(abs(((a - 1) ** 2 + (b - 0.5) ** 2) - 1) < 1e-9 and b <= 0.5 + 1e-12 for a, b in bottom)


def test_xor_table_and_split():
    X, y = make_xor()
    assert [(int(a), int(b), t) for (a, b), t in zip(X, y)] == [(0, 0, 0), (0, 1, 1), (1, 0, 1), (1, 1, 0)]
    X, y = make_moons(40, seed=0)
    Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=0.25, seed=1)
    assert len(Xtr) == 30 and len(Xte) == 10 and sorted(map(tuple, Xtr + Xte)) == sorted(map(tuple, X))
    pairs = {tuple(x): t for x, t in zip(X, y)}
    assert all(pairs[tuple(x)] == t for x, t in zip(Xtr + Xte, ytr + yte))  # labels travel with points
    with pytest.raises(ValueError, match="leaves no train"):
        train_test_split(X, y, test_size=1.0)
