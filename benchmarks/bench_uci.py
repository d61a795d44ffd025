"""MixtureDensityRegressor on the UCI probabilistic-regression benchmark.

The protocol of Hernandez-Lobato & Adams (2015): the standard 90/10
train/test splits (20 per set, 5 for Protein) in ``../shared/data/uci/``
(``--data-dir``). For each split, the inputs are standardized on the
training rows (a ``StandardScaler`` in a pipeline), the model is fitted on
the training rows, and the test negative log-likelihood per point in y's
original units and the RMSE of the conditional mean are measured. The table
gives mean +- standard error over the splits, the fit time per split, and
the published NLLs on the same splits beside them.

Models, run side by side on the same splits:

- ``mdn``: ``MixtureDensityRegressor`` with its defaults (``random_state``
  and one thread set), plus any ``--param KEY=VALUE``;
- ``gauss``: the same network with one component, i.e. a Gaussian
  likelihood with a learned mean and variance (the heteroscedastic MLP of
  Deep Ensembles, one network).

Run:  python benchmarks/bench_uci.py [--datasets boston concrete] [--splits 5]
                                     [--param component=generalized_normal]
"""

import argparse
import os
import time
import warnings

import numpy as np
import torch
from sklearn.exceptions import ConvergenceWarning
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skneural import MixtureDensityRegressor

from _params import parse_params

DATA_DIR = os.path.join(os.path.dirname(__file__), "..", "..", "shared", "data", "uci")
DATASETS = ("boston", "concrete", "energy", "power", "protein", "wine")
# published test NLL on the same splits: MC dropout (2018 re-run), Deep Ensembles
# (Lakshminarayanan et al. 2017), NGBoost (Duan et al. 2020)
PUBLISHED = {
    "boston": (2.40, 2.41, 2.43), "concrete": (2.93, 3.06, 3.04), "energy": (1.21, 1.38, 0.60),
    "power": (2.80, 2.79, 2.79), "protein": (2.87, 2.83, 2.81), "wine": (0.93, 0.94, 0.91),
}
MODELS = {"mdn": {}, "gauss": {"n_components": 1}}


def run_split(data, k, params):
    """Fit on split ``k``'s training rows; return (test NLL, test RMSE, fit seconds)."""
    X, y = data["X"], data["y"]
    train, test = data["train"][k], data["test"][k]
    model = make_pipeline(StandardScaler(), MixtureDensityRegressor(**params))
    start = time.perf_counter()
    model.fit(X[train], y[train])
    seconds = time.perf_counter() - start
    Z = model[0].transform(X[test])
    nll = -float(model[-1].log_likelihood(Z, y[test]).mean())
    rmse = float(np.sqrt(np.mean((model.predict(X[test]) - y[test]) ** 2)))
    return nll, rmse, seconds


def mean_se(values):
    values = np.asarray(values)
    return values.mean(), values.std(ddof=1) / np.sqrt(len(values)) if len(values) > 1 else 0.0


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default=DATA_DIR)
    parser.add_argument("--datasets", nargs="+", default=list(DATASETS), choices=DATASETS)
    parser.add_argument("--splits", type=int, default=None,
                        help="use only the first N splits of each set (default: all)")
    parser.add_argument("--models", nargs="+", default=list(MODELS), choices=list(MODELS))
    parser.add_argument("--param", action="append", default=[], metavar="KEY=VALUE",
                        help="a MixtureDensityRegressor setting for every fit; repeatable")
    args = parser.parse_args()
    torch.set_num_threads(1)
    warnings.simplefilter("ignore", ConvergenceWarning)
    extra = parse_params(args.param)
    print(f"extra settings: {extra}", flush=True)
    print("| data set | model | splits | test NLL | test RMSE | fit s per split | "
          "MC dropout / Deep Ensembles / NGBoost NLL |\n|---|---|---|---|---|---|---|", flush=True)
    for name in args.datasets:
        data = np.load(os.path.join(args.data_dir, f"{name}.npz"))
        n_splits = len(data["train"]) if args.splits is None else min(args.splits,
                                                                      len(data["train"]))
        for model in args.models:
            results = [run_split(data, k, {**MODELS[model], **extra, "random_state": k,
                                           "n_threads": 1}) for k in range(n_splits)]
            nll, rmse, seconds = zip(*results)
            (m_nll, se_nll), (m_rmse, se_rmse) = mean_se(nll), mean_se(rmse)
            published = " / ".join(f"{v:.2f}" for v in PUBLISHED[name])
            print(f"| {name} | {model} | {n_splits} | {m_nll:.3f} +- {se_nll:.3f} | "
                  f"{m_rmse:.3f} +- {se_rmse:.3f} | {np.mean(seconds):.1f} | {published} |",
                  flush=True)


if __name__ == "__main__":
    main()
