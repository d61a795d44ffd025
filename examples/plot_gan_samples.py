"""Real vs generated rows: GANSampler on the ring of 8 Gaussians, the 5x5 grid,
and a conditional GAN that augments a minority class.

    python examples/plot_gan_samples.py           # full fits (about a minute each)
    python examples/plot_gan_samples.py --quick   # short fits, rougher samples

Saves examples/output/gan_samples.png.
"""

import argparse
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import torch

from skneural import GANSampler

OUTPUT = Path(__file__).resolve().parent / "output"


def ring(rng, n=2500):
    angles = 2 * np.pi * np.arange(8) / 8
    modes = np.column_stack([np.cos(angles), np.sin(angles)])
    return modes[rng.randint(8, size=n)] + 0.01 * rng.randn(n, 2)


def grid(rng, n=2500):
    ticks = 2.0 * np.arange(-2, 3)
    modes = np.array([(a, b) for a in ticks for b in ticks])
    return modes[rng.randint(25, size=n)] + 0.05 * rng.randn(n, 2)


def two_moons_with_minority(rng, n_major=600, n_minor=60):
    """An imbalanced two-class table: the minority class is a small arc."""
    t = rng.uniform(0, np.pi, n_major)
    major = np.column_stack([np.cos(t), np.sin(t)]) + 0.08 * rng.randn(n_major, 2)
    t = rng.uniform(0, np.pi, n_minor)
    minor = np.column_stack([1 - np.cos(t), 0.5 - np.sin(t)]) + 0.08 * rng.randn(n_minor, 2)
    return np.r_[major, minor], np.r_[np.zeros(n_major, int), np.ones(n_minor, int)]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="short fits")
    args = parser.parse_args()
    torch.set_num_threads(1)
    max_iter = 60 if args.quick else 300
    rng = np.random.RandomState(0)

    fig, axes = plt.subplots(1, 3, figsize=(15, 5))
    for ax, (name, X) in zip(axes[:2], [("ring of 8 Gaussians", ring(rng)),
                                        ("5x5 grid", grid(rng))]):
        gan = GANSampler(max_iter=max_iter, random_state=0).fit(X)
        S = gan.sample(2500, random_state=0)
        ax.scatter(X[:, 0], X[:, 1], s=4, c="tab:blue", alpha=0.5, label="real")
        ax.scatter(S[:, 0], S[:, 1], s=4, c="tab:orange", alpha=0.5, label="generated")
        ax.set_title(f"{name}: {gan.n_iter_} epochs")
        ax.set_aspect("equal")
        if name.startswith("ring"):
            ax.legend(loc="center", markerscale=3)

    X, y = two_moons_with_minority(rng)
    # 660 rows make short epochs; smaller batches give the conditional GAN
    # enough generator steps.
    cgan = GANSampler(max_iter=max_iter, batch_size=64, random_state=0).fit(X, y)
    extra = cgan.sample(600, y=1, random_state=0)
    ax = axes[2]
    ax.scatter(*X[y == 0].T, s=6, c="tab:blue", alpha=0.4, label="class 0 (real, 600)")
    ax.scatter(*X[y == 1].T, s=14, c="tab:red", label="class 1 (real, 60)")
    ax.scatter(*extra.T, s=4, c="tab:orange", alpha=0.5, label="class 1 (generated, 600)")
    ax.set_title("conditional GAN: sample(600, y=1)")
    ax.set_aspect("equal")
    ax.legend(loc="lower left", markerscale=2, fontsize=8)

    fig.suptitle("GANSampler: real (blue/red) vs generated (orange) rows")
    fig.tight_layout()
    OUTPUT.mkdir(exist_ok=True)
    path = OUTPUT / "gan_samples.png"
    fig.savefig(path, dpi=110)
    print(f"saved {path}")


if __name__ == "__main__":
    main()
