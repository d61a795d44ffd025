"""The seed deck's inverse problem: least squares averages the branches, an MDN keeps them.

The forward map y -> x = 7 sin(0.75 y) + 0.5 y + noise is a function; its
inverse x -> y has up to three branches. A least-squares network
(``MLPRegressor``) learns the conditional mean, which runs between the
branches where no data lie. A ``MixtureDensityRegressor`` learns the whole
conditional density p(y | x) (Bishop, PRML figures 5.19-5.21): the figure
shows the data with both fits, the mixing coefficients pi_k(x), the component
means mu_k(x), and the conditional density with its most probable mode.

Run:  python examples/plot_mdn_inverse_problem.py [--quick]
Saves examples/output/mdn_inverse_problem.png
"""

import argparse
import os
import warnings

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import torch
from sklearn.exceptions import ConvergenceWarning
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skneural import MixtureDensityRegressor, MLPRegressor
from skneural.plotting import plot_conditional_density

OUTPUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "output",
                      "mdn_inverse_problem.png")


def make_data(n, rng):
    y = rng.uniform(-10.5, 10.5, n)
    x = 7 * np.sin(0.75 * y) + 0.5 * y + rng.normal(size=n)
    return x.reshape(-1, 1), y


def main(quick=False):
    torch.set_num_threads(1)
    warnings.simplefilter("ignore", ConvergenceWarning)
    rng = np.random.RandomState(0)
    X, y = make_data(1000 if quick else 2500, rng)
    scaler = StandardScaler().fit(X)
    Xs = scaler.transform(X)

    iters = 150 if quick else 1500
    least_squares = MLPRegressor(hidden_layer_sizes=(32, 32), activation="tanh", solver="lbfgs",
                                 max_iter=iters, random_state=0).fit(Xs, y)
    mdn = MixtureDensityRegressor(n_components=5, hidden_layer_sizes=(32, 32), solver="lbfgs",
                                  alpha=0.3, max_iter=iters, random_state=0).fit(Xs, y)

    x_grid = np.linspace(X.min(), X.max(), 300).reshape(-1, 1)
    xs_grid = scaler.transform(x_grid)
    weights, means, _ = mdn.predict_mixture(xs_grid)

    fig, axes = plt.subplots(2, 2, figsize=(11, 8.5))
    ax = axes[0, 0]
    ax.scatter(X[:, 0], y, s=3, alpha=0.3, color="0.4", label="data")
    ax.plot(x_grid, least_squares.predict(xs_grid), color="tab:red", lw=2,
            label="least squares (MLPRegressor)")
    ax.plot(x_grid, mdn.predict(xs_grid), color="tab:blue", lw=2, ls="--",
            label="MDN conditional mean")
    ax.set(xlabel="x", ylabel="y", title="Inverse problem: the mean averages the branches")
    ax.legend(loc="upper left", fontsize=8)

    ax = axes[0, 1]
    ax.plot(x_grid, weights)
    ax.set(xlabel="x", ylabel=r"$\pi_k(x)$", title="Mixing coefficients", ylim=(0, 1))

    ax = axes[1, 0]
    for k in range(mdn.n_components):
        ax.scatter(x_grid[:, 0], means[:, k, 0], s=3 + 20 * weights[:, k], alpha=0.6)
    ax.set(xlabel="x", ylabel=r"$\mu_k(x)$",
           title=r"Component means (marker size $\propto \pi_k$)")

    # the fitted scaler and MDN as one pipeline, so the plot takes x in its own units
    plot_conditional_density(make_pipeline(scaler, mdn), x_grid[:, 0], np.linspace(-12, 12, 300),
                             ax=axes[1, 1])
    axes[1, 1].set_title(r"MDN conditional density $p(y\,|\,x)$")

    fig.tight_layout()
    os.makedirs(os.path.dirname(OUTPUT), exist_ok=True)
    fig.savefig(OUTPUT, dpi=110)
    print(f"least squares R^2 {least_squares.score(Xs, y):.3f}, MDN R^2 {mdn.score(Xs, y):.3f}, "
          f"MDN train NLL {-mdn.log_likelihood(Xs, y).mean():.3f} nats")
    print(f"saved {OUTPUT}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer points and iterations")
    main(parser.parse_args().quick)
