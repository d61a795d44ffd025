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
- ``mdn-cv``: the setting chosen inside each training split: a
  ``GridSearchCV`` over the ``--candidate`` settings (each a dict literal,
  on top of ``--param``), scored by ``log_likelihood_scorer`` on a shuffled
  3-fold split of the training rows, refitted on all of them. The test rows
  play no part in the choice. A second table gives each candidate's inner-CV
  log-likelihood averaged over the splits, and how often it was chosen;
- ``gauss``: the same network with one component and early stopping, i.e. a
  Gaussian likelihood with a learned mean and variance (the heteroscedastic
  MLP of Deep Ensembles, one network; with the defaults' 2,000 full-batch
  L-BFGS iterations a single Gaussian overfits to NLLs in the hundreds);
- ``skpro``: skpro's ``MDNRegressor`` with its defaults, and ``ngboost``:
  ``ngboost.NGBRegressor`` with its defaults (a Normal). These two need a
  side venv, since ngboost pins an older scikit-learn; run them there with
  ``PYTHONPATH=.`` (skneural is only imported for the ``mdn`` models).

Wine's target is an integer quality score: every MDN model fits it with
``dequantize=1.0`` (uniform noise of one step on the training targets, so the
density at a score is a probability per step and components cannot spike on
the integers); the other sets are continuous.

Run:  python benchmarks/bench_uci.py [--datasets boston concrete] [--splits 5]
                                     [--param component=generalized_normal]
      python benchmarks/bench_uci.py --models mdn-cv \
          --candidate "{'noise_regularization': 0.01, 'alpha': 0.001}" \
          --candidate "{'noise_regularization': 0.03, 'alpha': 0.001}" \
          --candidate "{'noise_regularization': 0.1, 'alpha': 0.001}"
      cd benchmarks; PYTHONPATH=. SIDE_VENV/bin/python bench_uci.py --models skpro ngboost
"""

import argparse
import ast
import collections
import os
import time
import warnings

import numpy as np
import torch
from sklearn.exceptions import ConvergenceWarning
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from _params import parse_params

DATA_DIR = os.path.join(os.path.dirname(__file__), "..", "..", "shared", "data", "uci")
DATASETS = ("boston", "concrete", "energy", "power", "protein", "wine")
# published test NLL on the same splits: MC dropout (2018 re-run), Deep Ensembles
# (Lakshminarayanan et al. 2017), NGBoost (Duan et al. 2020)
PUBLISHED = {
    "boston": (2.40, 2.41, 2.43), "concrete": (2.93, 3.06, 3.04), "energy": (1.21, 1.38, 0.60),
    "power": (2.80, 2.79, 2.79), "protein": (2.87, 2.83, 2.81), "wine": (0.93, 0.94, 0.91),
}
MODELS = ("mdn", "mdn-cv", "gauss", "skpro", "ngboost")
#: data sets whose target is quantized, and its step (the MDN models' ``dequantize``)
QUANTIZED = {"wine": 1.0}


class MDN:
    """``MixtureDensityRegressor(**params)`` on standardized inputs."""

    def __init__(self, params):
        from skneural import MixtureDensityRegressor
        self.model = make_pipeline(StandardScaler(), MixtureDensityRegressor(**params))

    def fit(self, X, y):
        self.model.fit(X, y)
        return self

    def log_likelihood(self, X, y):
        return self.model[-1].log_likelihood(self.model[0].transform(X), y)

    def predict(self, X):
        return self.model.predict(X)


class MDNCV(MDN):
    """The candidate with the best 3-fold CV log-likelihood on the training rows, refitted."""

    def __init__(self, params, candidates, seed, n_jobs):
        from sklearn.model_selection import GridSearchCV, KFold

        from skneural import log_likelihood_scorer
        super().__init__(params)
        grid = [{f"mixturedensityregressor__{key}": [value] for key, value in c.items()}
                or {"mixturedensityregressor__random_state": [params["random_state"]]}
                for c in candidates]
        self.model = GridSearchCV(self.model, grid, scoring=log_likelihood_scorer,
                                  cv=KFold(3, shuffle=True, random_state=seed), n_jobs=n_jobs)

    def log_likelihood(self, X, y):
        best = self.model.best_estimator_
        return best[-1].log_likelihood(best[0].transform(X), y)

    def cv_scores(self):
        """Mean inner-CV log-likelihood per candidate, in candidate order."""
        return self.model.cv_results_["mean_test_score"]


class Skpro:
    """skpro's ``MDNRegressor`` with its defaults on standardized inputs (pandas in, pandas out)."""

    def __init__(self, seed):
        from skpro.regression.mdn import MDNRegressor
        self.scaler, self.model = StandardScaler(), MDNRegressor(random_state=seed)

    def _frame(self, X):
        import pandas as pd
        return pd.DataFrame(self.scaler.transform(X))

    def fit(self, X, y):
        import pandas as pd
        self.scaler.fit(X)
        self.model.fit(self._frame(X), pd.DataFrame({"y": y}))
        return self

    def log_likelihood(self, X, y):
        import pandas as pd
        dist = self.model.predict_proba(self._frame(X))
        return dist.log_pdf(pd.DataFrame({"y": y})).to_numpy().ravel()

    def predict(self, X):
        return self.model.predict(self._frame(X)).to_numpy().ravel()


class NGBoost:
    """``ngboost.NGBRegressor`` with its defaults (a Normal, 500 rounds)."""

    def __init__(self, seed):
        from ngboost import NGBRegressor
        self.model = NGBRegressor(random_state=seed, verbose=False)

    def fit(self, X, y):
        self.model.fit(X, y)
        return self

    def log_likelihood(self, X, y):
        return self.model.pred_dist(X).logpdf(y)

    def predict(self, X):
        return self.model.predict(X)


def make_model(name, extra, candidates, k, n_jobs, dataset):
    params = {**extra, "random_state": k, "n_threads": 1}
    if dataset in QUANTIZED:
        params["dequantize"] = QUANTIZED[dataset]
    if name == "mdn":
        return MDN(params)
    if name == "gauss":
        return MDN({**params, "n_components": 1, "early_stopping": True})
    if name == "mdn-cv":
        return MDNCV(params, candidates, k, n_jobs)
    return Skpro(k) if name == "skpro" else NGBoost(k)


def run_split(data, k, model):
    """Fit on split ``k``'s training rows; return (test NLL, test RMSE, fit seconds)."""
    X, y = data["X"], data["y"]
    train, test = data["train"][k], data["test"][k]
    start = time.perf_counter()
    model.fit(X[train], y[train])
    seconds = time.perf_counter() - start
    nll = -float(np.mean(model.log_likelihood(X[test], y[test])))
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
    parser.add_argument("--models", nargs="+", default=["mdn", "gauss"], choices=MODELS)
    parser.add_argument("--param", action="append", default=[], metavar="KEY=VALUE",
                        help="a MixtureDensityRegressor setting for every fit; repeatable")
    parser.add_argument("--candidate", action="append", default=[], metavar="DICT",
                        help="a setting mdn-cv chooses among, as a dict literal; repeatable")
    parser.add_argument("--n-jobs", type=int, default=1, help="mdn-cv's GridSearchCV n_jobs")
    args = parser.parse_args()
    torch.set_num_threads(1)
    warnings.simplefilter("ignore", ConvergenceWarning)
    extra = parse_params(args.param)
    candidates = [ast.literal_eval(c) for c in args.candidate] or [{}]
    print(f"extra settings: {extra}; candidates: {candidates}", flush=True)
    print("| data set | model | splits | test NLL | test RMSE | fit s per split | "
          "MC dropout / Deep Ensembles / NGBoost NLL |\n|---|---|---|---|---|---|---|", flush=True)
    selection = []
    for name in args.datasets:
        data = np.load(os.path.join(args.data_dir, f"{name}.npz"))
        n_splits = len(data["train"]) if args.splits is None else min(args.splits,
                                                                      len(data["train"]))
        for model_name in args.models:
            results, cv_scores, chosen = [], [], collections.Counter()
            for k in range(n_splits):
                model = make_model(model_name, extra, candidates, k, args.n_jobs, name)
                results.append(run_split(data, k, model))
                if model_name == "mdn-cv":
                    cv_scores.append(model.cv_scores())
                    chosen[int(model.model.best_index_)] += 1
            nll, rmse, seconds = zip(*results)
            (m_nll, se_nll), (m_rmse, se_rmse) = mean_se(nll), mean_se(rmse)
            published = " / ".join(f"{v:.2f}" for v in PUBLISHED[name])
            print(f"| {name} | {model_name} | {n_splits} | {m_nll:.3f} +- {se_nll:.3f} | "
                  f"{m_rmse:.3f} +- {se_rmse:.3f} | {np.mean(seconds):.1f} | {published} |",
                  flush=True)
            if cv_scores:
                selection.append((name, np.mean(cv_scores, axis=0), chosen))
    if selection:
        print("\ninner-CV log-likelihood per candidate (mean over splits; times chosen)")
        print("| data set | " + " | ".join(str(c) for c in candidates) + " |\n|---|"
              + "---|" * len(candidates))
        for name, scores, chosen in selection:
            print(f"| {name} | " + " | ".join(f"{s:.3f} ({chosen[i]})" for i, s in
                                              enumerate(scores)) + " |", flush=True)


if __name__ == "__main__":
    main()
