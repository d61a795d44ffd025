"""Classify variable-length sequences with LSTMSequenceClassifier.

Three waveforms (sine, square, sawtooth) with a random period, phase,
amplitude and noise, observed for anywhere between 15 and 120 steps. The
sequences go to the estimator as a plain list of ``(T_i, 1)`` arrays; it pads
and packs them internally, so a sequence's prediction does not depend on the
other sequences in its batch. The figure shows examples of each class, the
training loss, and test accuracy by sequence length (short sequences hold
less than one period and are harder). Run with ``--quick`` for a fast pass.
"""

import argparse
import os
import time

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import torch

from skneural import LSTMSequenceClassifier

CLASSES = ("sine", "square", "sawtooth")


def make_sequences(n, rng, min_len=15, max_len=120):
    X, y = [], []
    for _ in range(n):
        label = rng.randint(len(CLASSES))
        t = np.arange(rng.randint(min_len, max_len + 1))
        phase = 2 * np.pi * (t / rng.uniform(12, 30) + rng.uniform())
        wave = [np.sin(phase), np.sign(np.sin(phase)),
                2 * ((phase / (2 * np.pi)) % 1.0) - 1][label]
        x = rng.uniform(0.5, 2.0) * wave + 0.3 * rng.randn(len(t))
        X.append(x[:, None].astype(np.float32))  # float32 trains faster on a CPU
        y.append(CLASSES[label])
    return X, np.array(y)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller data and fewer epochs")
    args = parser.parse_args()
    torch.set_num_threads(1)
    rng = np.random.RandomState(0)
    n_train, n_test, epochs = (200, 200, 15) if args.quick else (600, 400, 30)
    X_train, y_train = make_sequences(n_train, rng)
    X_test, y_test = make_sequences(n_test, rng)

    clf = LSTMSequenceClassifier(hidden_size=24, bidirectional=True, summary="mean",
                                 conv_channels=(16,), conv_kernel_sizes=5, conv_layout="stacked",
                                 learning_rate_init=0.01, batch_size=64, max_iter=epochs,
                                 n_iter_no_change=epochs, random_state=0, n_threads=1)
    start = time.perf_counter()
    clf.fit(X_train, y_train)
    print(f"fit {len(X_train)} sequences in {time.perf_counter() - start:.1f} s, "
          f"{clf.n_iter_} epochs")
    accuracy = clf.score(X_test, y_test)
    print(f"test accuracy {accuracy:.3f}")

    # padding is invisible: a sequence alone gets the probabilities it gets in the batch
    alone = np.vstack([clf.predict_proba([x]) for x in X_test[:20]])
    print(f"max |p(alone) - p(in batch)| = {np.abs(alone - clf.predict_proba(X_test)[:20]).max():.2e}")

    lengths = np.array([len(x) for x in X_test])
    correct = clf.predict(X_test) == y_test
    edges = np.linspace(15, 121, 8)
    bins = np.digitize(lengths, edges) - 1
    centers = (edges[:-1] + edges[1:]) / 2
    by_length = [correct[bins == b].mean() for b in range(len(centers))]

    fig, axes = plt.subplots(1, 3, figsize=(14, 3.8))
    for label, color in zip(CLASSES, ("C0", "C1", "C2")):
        examples = [x for x, c in zip(X_train, y_train) if c == label][:2]
        for i, x in enumerate(examples):
            axes[0].plot(x[:, 0], color=color, lw=1, alpha=0.8, label=label if i == 0 else None)
    axes[0].set(title="training sequences (lengths 15-120)", xlabel="step")
    axes[0].legend(loc="upper right", fontsize=8)
    axes[1].plot(clf.loss_curve_)
    axes[1].set(title="training loss", xlabel="epoch", ylabel="cross-entropy")
    axes[2].bar(centers, by_length, width=(edges[1] - edges[0]) * 0.8)
    axes[2].axhline(accuracy, color="k", ls="--", lw=1, label=f"overall {accuracy:.3f}")
    axes[2].set(title="test accuracy by sequence length", xlabel="length", ylim=(0, 1.05))
    axes[2].legend(loc="lower right")
    fig.tight_layout()
    out_dir = os.path.join(os.path.dirname(os.path.abspath(__file__)), "output")
    os.makedirs(out_dir, exist_ok=True)
    path = os.path.join(out_dir, "plot_lstm_sequences.png")
    fig.savefig(path, dpi=110)
    print(f"saved {path}")


if __name__ == "__main__":
    main()
