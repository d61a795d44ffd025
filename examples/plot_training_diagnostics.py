"""Diagnostic plots from ``skneural.plotting``: learning curves, gradient norms,
an MDN's conditional density and GAN samples against the data.

    python examples/plot_training_diagnostics.py           # about a minute
    python examples/plot_training_diagnostics.py --quick   # a few seconds

Saves examples/output/training_diagnostics.png.
"""

import argparse
import warnings
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import torch
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skneural import GANSampler, MixtureDensityRegressor, MLPClassifier
from skneural.plotting import (
    plot_conditional_density,
    plot_gradient_norms,
    plot_learning_curve,
    plot_samples,
)

OUTPUT = Path(__file__).resolve().parent / "output"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="short fits")
    quick = parser.parse_args().quick
    warnings.simplefilter("ignore", ConvergenceWarning)
    torch.set_num_threads(1)  # small networks: one thread is fastest, and shares the machine
    rng = np.random.RandomState(0)
    fig, axes = plt.subplots(2, 2, figsize=(12, 9))

    # learning curve: loss per epoch and the early-stopping validation score
    X, y = load_digits(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    clf = MLPClassifier(hidden_layer_sizes=(128,), dropout=0.2, early_stopping=True,
                        max_iter=15 if quick else 200, random_state=0).fit(X, y)
    plot_learning_curve(clf, ax=axes[0, 0])

    # gradient norms: a deep sigmoid network, the seed deck's vanishing gradient
    deep = MLPClassifier(hidden_layer_sizes=(32,) * 5, activation="logistic", solver="sgd",
                         learning_rate_init=0.1, max_iter=10 if quick else 60,
                         random_state=0).fit(X, y)
    plot_gradient_norms(deep, ax=axes[0, 1])
    axes[0, 1].set_title("5 sigmoid layers: the input side learns slowest")

    # an MDN's conditional density on the seed deck's inverse problem
    target = rng.uniform(-10.5, 10.5, 1000 if quick else 2500)
    inputs = (7 * np.sin(0.75 * target) + 0.5 * target + rng.normal(size=target.size))
    mdn = make_pipeline(StandardScaler(), MixtureDensityRegressor(
        n_components=5, hidden_layer_sizes=(32, 32), solver="lbfgs", alpha=0.3,
        max_iter=150 if quick else 1500, random_state=0)).fit(inputs.reshape(-1, 1), target)
    axes[1, 0].scatter(inputs, target, s=2, color="white", alpha=0.15)
    plot_conditional_density(mdn, np.linspace(inputs.min(), inputs.max(), 200),
                             np.linspace(-12, 12, 200), ax=axes[1, 0])

    # GAN samples against the data: the ring of 8 Gaussians
    angles = 2 * np.pi * np.arange(8) / 8
    ring = np.column_stack([np.cos(angles), np.sin(angles)])[rng.randint(8, size=2500)]
    ring += 0.01 * rng.randn(*ring.shape)
    gan = GANSampler(max_iter=40 if quick else 300, random_state=0).fit(ring)
    plot_samples(ring, gan.sample(2500, random_state=0), ax=axes[1, 1])
    axes[1, 1].set_title(f"GANSampler: ring of 8 Gaussians, {gan.n_iter_} epochs")
    axes[1, 1].set_aspect("equal")

    fig.tight_layout()
    OUTPUT.mkdir(exist_ok=True)
    path = OUTPUT / "training_diagnostics.png"
    fig.savefig(path, dpi=100)
    print(f"saved {path}")


if __name__ == "__main__":
    main()
