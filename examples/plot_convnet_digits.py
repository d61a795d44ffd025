"""A convolutional network on sklearn's 8x8 digits: learning curve and the digits it gets wrong.

A ConvNetClassifier with batch norm, random one-pixel shifts, small rotations
and scalings (training-time augmentation, on the device) and a cosine
step-size schedule is trained on 75% of the digits, one
``partial_fit`` epoch at a time so the held-out accuracy can be recorded after
each. The figure shows the training loss and test accuracy per epoch, and the
misclassified test digits with their true and predicted labels.

Run ``python examples/plot_convnet_digits.py`` (``--quick`` for a fast run);
the figure goes to ``examples/output/plot_convnet_digits.png``.
"""

import sys
import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

from skneural import ConvNetClassifier

OUTPUT = Path(__file__).resolve().parent / "output" / "plot_convnet_digits.png"


def main(quick=False):
    X, y = load_digits(return_X_y=True)
    X = (X / 16.0).astype(np.float32)  # float32 in, float32 compute
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, stratify=y,
                                                        random_state=0)
    epochs = 8 if quick else 100
    clf = ConvNetClassifier(
        filters=(32, 64), input_shape=(8, 8), normalization="batch",
        shift=1, rotation=10.0, scale=0.1,  # augmentation, in training only
        hidden_layer_sizes=(128,), dropout=0.3, batch_size=64,
        learning_rate="cosine", learning_rate_init=0.002, max_iter=epochs,
        # a RandomState instance, not an int: each partial_fit call draws new shuffles,
        # shifts and dropout masks from it (an int would replay the same ones every epoch)
        random_state=np.random.RandomState(0),
        n_threads=1,  # 8x8 convolutions are too small to gain from more threads
    )
    # one partial_fit per epoch (the optimizer state and the cosine schedule carry over)
    losses, test_accuracy = [], []
    start = time.perf_counter()
    for _ in range(epochs):
        clf.partial_fit(X_train, y_train, classes=np.arange(10))
        losses.append(clf.loss_)
        test_accuracy.append(clf.score(X_test, y_test))
    seconds = time.perf_counter() - start
    pred = clf.predict(X_test)
    accuracy = np.mean(pred == y_test)
    print(f"{epochs} epochs in {seconds:.1f} s; test accuracy {accuracy:.4f} "
          f"({np.sum(pred != y_test)} of {len(y_test)} wrong)")

    wrong = np.flatnonzero(pred != y_test)[:15]
    fig = plt.figure(figsize=(11, 4.5))
    grid = fig.add_gridspec(3, 7, width_ratios=[4, 4, 1, 1, 1, 1, 1])
    ax = fig.add_subplot(grid[:, :2])
    ax.plot(np.arange(1, epochs + 1), losses, color="tab:blue", label="training loss")
    ax.set_xlabel("epoch")
    ax.set_ylabel("training loss (augmented batches)", color="tab:blue")
    ax.set_yscale("log")
    ax2 = ax.twinx()
    ax2.plot(np.arange(1, epochs + 1), test_accuracy, color="tab:orange",
             label="test accuracy")
    ax2.set_ylim(max(0.9, min(test_accuracy) - 0.01), 1.0)
    ax2.set_ylabel("test accuracy", color="tab:orange")
    handles = ax.get_legend_handles_labels()[0] + ax2.get_legend_handles_labels()[0]
    ax2.legend(handles=handles, loc="center right")
    ax.set_title(f"ConvNetClassifier on digits: test accuracy {accuracy:.2%}")
    for k in range(15):
        cell = fig.add_subplot(grid[k // 5, 2 + k % 5])
        cell.axis("off")
        if k < len(wrong):
            i = wrong[k]
            cell.imshow(X_test[i].reshape(8, 8), cmap="gray_r")
            cell.set_title(f"{y_test[i]} -> {pred[i]}", fontsize=9, color="tab:red")
    if len(wrong) == 0:
        fig.text(0.75, 0.5, "no misclassified digits", ha="center")
    fig.suptitle("misclassified test digits: true -> predicted", x=0.75, y=0.98, fontsize=10)
    fig.tight_layout()
    OUTPUT.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(OUTPUT, dpi=110)
    print(f"saved {OUTPUT}")


if __name__ == "__main__":
    main(quick="--quick" in sys.argv)
