"""Real mixed-type tables for ``bench_gan.py --tables``: data, samplers and scores.

The tables are CSVs shipped inside the ``ISLP`` 0.6.0 wheel on PyPI, taken
without installing ISLP::

    pip download --no-deps ISLP==0.6.0 -d /tmp/islp
    unzip -o -j /tmp/islp/islp-0.6.0-py3-none-any.whl 'ISLP/data/*.csv' -d /tmp/gan_data

Each table lists the columns dropped (identifiers, free text, exact
functions of other columns), the numeric-coded columns treated as
categories, and the TSTR target, all fixed before any run.

Scores of a synthetic table ``S`` against the real training rows ``R``
(``R`` itself against the holdout for the reference line):

* detection: a ``HistGradientBoostingClassifier`` (native categorical
  support) told to separate ``R`` from ``S``, 5-fold stratified CV ROC AUC
  (0.5: indistinguishable);
* marginals: per column, the two-sample Kolmogorov-Smirnov statistic
  (numeric) or the total variation distance of the category shares
  (categorical); the mean over columns and the worst column;
* dependence: the association matrix of every pair of columns (Pearson
  correlation between numeric columns, Cramer's V between categorical ones,
  the correlation ratio eta between a numeric and a categorical one), the
  mean absolute difference from ``R``'s over pairs;
* TSTR: the same classifier trained on ``S`` to predict the table's
  target from the other columns, accuracy on the real holdout;
* memorization: each row's Gower distance to its closest training row
  (DCR), the median of ``S``'s over the holdout's (1: as new as real rows;
  near 0: copies), and the share of ``S`` closer than 95% of the holdout
  rows are (0.05 expected). Detection against ``R`` alone would reward a
  sampler that copies its training rows.
"""

import time

import numpy as np

# name: (file, dropped columns, numeric-coded categorical columns, TSTR target)
TABLES = {
    "Wage": ("Wage.csv", ["region", "logwage"], [], "jobclass"),
    "Credit": ("Credit.csv", ["ID"], [], "Student"),
    "Carseats": ("Carseats.csv", [], [], "ShelveLoc"),
    "Auto": ("Auto.csv", ["name"], ["origin"], "origin"),
    "College": ("College.csv", [], [], "Private"),
}
# tables for trying settings out (``--only Hitters``), never in the default run
DEV_TABLES = {
    "Hitters": ("Hitters.csv", [], [], "Division"),
}


def load_table(data_dir, name):
    """(DataFrame, categorical column names, target) of one table; text columns as str."""
    import os

    import pandas as pd

    file, drop, coded, target = {**TABLES, **DEV_TABLES}[name]
    frame = pd.read_csv(os.path.join(data_dir, file)).drop(columns=drop).dropna()
    for c in coded:
        frame[c] = frame[c].astype(str)
    categorical = [c for c in frame.columns if not pd.api.types.is_numeric_dtype(frame[c])]
    for c in categorical:
        frame[c] = frame[c].astype(str).str.strip().astype(object)
    return frame.reset_index(drop=True), categorical, target


def as_training_dtypes(synthetic, real):
    """``synthetic`` with ``real``'s column order and dtypes (integers rounded), for every method."""
    out = synthetic[list(real.columns)].copy()
    for c in real.columns:
        if real[c].dtype.kind in "iu":
            out[c] = np.rint(out[c].astype(float)).astype(real[c].dtype)
        elif real[c].dtype == object:
            out[c] = out[c].astype(str).astype(object)
    return out.reset_index(drop=True)


# ------------------------------------------------------------------ scores
def _as_categories(frames, categorical):
    """Copies of ``frames`` whose categorical columns share one pandas dtype."""
    import pandas as pd

    out = [f.copy() for f in frames]
    for col in categorical:
        dtype = pd.CategoricalDtype(sorted(set().union(*(set(f[col].astype(str))
                                                          for f in frames))))
        for f in out:
            f[col] = f[col].astype(str).astype(dtype)
    return out


def detection_auc(real, synthetic, categorical, seed):
    """5-fold CV ROC AUC of a classifier separating real from synthetic rows."""
    import pandas as pd
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.model_selection import StratifiedKFold, cross_val_score

    real, synthetic = _as_categories([real, synthetic], categorical)
    X = pd.concat([real, synthetic], ignore_index=True)
    y = np.r_[np.ones(len(real)), np.zeros(len(synthetic))]
    clf = HistGradientBoostingClassifier(categorical_features="from_dtype", random_state=seed)
    cv = StratifiedKFold(5, shuffle=True, random_state=seed)
    return float(cross_val_score(clf, X, y, cv=cv, scoring="roc_auc").mean())


def tstr_accuracy(train, test, target, categorical, seed):
    """Accuracy on real ``test`` of a classifier trained on ``train`` for ``target``."""
    from sklearn.ensemble import HistGradientBoostingClassifier

    features = [c for c in train.columns if c != target]
    cats = [c for c in categorical if c != target]
    train_x, test_x = _as_categories([train[features], test[features]], cats)
    train_y = train[target].astype(str)
    if train_y.nunique() < 2:  # a sampler that lost a class: predict the one it kept
        return float(np.mean(test[target].astype(str) == train_y.iloc[0]))
    clf = HistGradientBoostingClassifier(categorical_features="from_dtype", random_state=seed)
    clf.fit(train_x, train_y)
    return float(np.mean(clf.predict(test_x) == test[target].astype(str).to_numpy()))


def marginal_distances(real, synthetic, categorical):
    """Per-column distances: KS statistic (numeric), total variation (categorical)."""
    from scipy.stats import ks_2samp

    out = {}
    for c in real.columns:
        if c in categorical:
            p = real[c].astype(str).value_counts(normalize=True)
            q = synthetic[c].astype(str).value_counts(normalize=True)
            out[c] = 0.5 * float(p.subtract(q, fill_value=0.0).abs().sum())
        else:
            out[c] = float(ks_2samp(real[c].to_numpy(float), synthetic[c].to_numpy(float))[0])
    return out


def _cramers_v(a, b):
    import pandas as pd
    from scipy.stats import chi2_contingency

    table = pd.crosstab(a, b).to_numpy()
    if min(table.shape) < 2:
        return 0.0
    chi2 = chi2_contingency(table, correction=False)[0]
    return float(np.sqrt(chi2 / table.sum() / (min(table.shape) - 1)))


def _correlation_ratio(categories, values):
    values = np.asarray(values, float)
    total = ((values - values.mean()) ** 2).sum()
    if total == 0:
        return 0.0
    groups = [values[categories == k] for k in np.unique(categories)]
    between = sum(len(g) * (g.mean() - values.mean()) ** 2 for g in groups)
    return float(np.sqrt(between / total))


def associations(frame, categorical):
    """{(column, column): association} over pairs (see the module docstring)."""
    columns = list(frame.columns)
    cats = {c: frame[c].astype(str).to_numpy() for c in categorical}
    out = {}
    for i, a in enumerate(columns):
        for b in columns[i + 1:]:
            if a in cats and b in cats:
                out[a, b] = _cramers_v(cats[a], cats[b])
            elif a in cats or b in cats:
                c, v = (a, b) if a in cats else (b, a)
                out[a, b] = _correlation_ratio(cats[c], frame[v])
            else:
                x, y = frame[a].to_numpy(float), frame[b].to_numpy(float)
                out[a, b] = 0.0 if x.std() == 0 or y.std() == 0 else \
                    float(np.corrcoef(x, y)[0, 1])
    return out


def dependence_error(real, synthetic, categorical):
    """Mean |association difference| over column pairs."""
    r, s = associations(real, categorical), associations(synthetic, categorical)
    return float(np.mean([abs(r[k] - s[k]) for k in r]))


def closest_record_distances(reference, rows, categorical, scale):
    """Gower distance from each of ``rows`` to its nearest row of ``reference``.

    Numeric columns count ``|a - b| / range`` (``scale``: the reference's
    ranges), categorical ones 0 or 1; the mean over columns.
    """
    from sklearn.neighbors import NearestNeighbors

    def encode(frame):
        parts = [frame[c].to_numpy(float)[:, None] / scale[c]
                 for c in reference.columns if c not in categorical]
        parts += [0.5 * (frame[c].astype(str).to_numpy()[:, None] == levels[c][None])
                  for c in categorical]
        return np.hstack(parts)

    levels = {c: np.unique(np.r_[reference[c].astype(str), rows[c].astype(str)])
              for c in categorical}
    nn = NearestNeighbors(n_neighbors=1, metric="manhattan").fit(encode(reference))
    return nn.kneighbors(encode(rows))[0][:, 0] / reference.shape[1]


def memorization(train, rows, holdout, categorical):
    """(median DCR ratio, share of close rows) of ``rows`` against the real holdout.

    DCR: each row's distance to its closest training row. The ratio divides
    the median DCR of ``rows`` by that of the holdout rows (1: as far from
    the training rows as new real rows are; near 0: copies). Close: the
    share of ``rows`` nearer a training row than 95% of the holdout rows
    are (0.05 for a sampler as new as real rows).
    """
    scale = {c: max(np.ptp(train[c].to_numpy(float)), 1e-12)
             for c in train.columns if c not in categorical}
    real = closest_record_distances(train, holdout, categorical, scale)
    synthetic = closest_record_distances(train, rows, categorical, scale)
    return (float(np.median(synthetic) / max(np.median(real), 1e-12)),
            float(np.mean(synthetic < np.quantile(real, 0.05))))


def score(reference, rows, holdout, target, categorical, seed, tstr_rows=None):
    """Scores of ``rows`` against the real ``reference`` rows (see the module docstring).

    TSTR trains on ``tstr_rows`` (default: ``rows``) and tests on ``holdout``.
    """
    marginals = marginal_distances(reference, rows, categorical)
    worst = max(marginals, key=marginals.get)
    dcr, close = memorization(reference, rows, holdout, categorical)
    return {
        "dcr": dcr, "close": close,
        "auc": detection_auc(reference, rows, categorical, seed),
        "marginal": float(np.mean(list(marginals.values()))),
        "worst_marginal": marginals[worst], "worst_column": worst,
        "dependence": dependence_error(reference, rows, categorical),
        "tstr": tstr_accuracy(rows if tstr_rows is None else tstr_rows, holdout, target,
                              categorical, seed),
    }


# ---------------------------------------------------------------- samplers
def timed(fit):
    """Run ``fit()``; (its result, wall s, this process's CPU s)."""
    start, cpu = time.perf_counter(), time.process_time()
    out = fit()
    return out, time.perf_counter() - start, time.process_time() - cpu


def fit_gansampler(train, categorical, seed, params):
    from skneural import GANSampler

    gan = GANSampler(random_state=seed, n_threads=1, **params)
    return gan.fit(train)


def sample_gansampler(model, n, seed):
    return model.sample(n, random_state=seed)


def _ctgan_class(name):
    import ctgan

    return {"ctgan": ctgan.CTGAN, "tvae": ctgan.TVAE}[name]


def fit_ctgan_package(name, train, categorical, seed):
    """ctgan.CTGAN or ctgan.TVAE with their defaults, seeded, encoded in this process.

    ctgan encodes columns in joblib worker processes on tables over 500
    rows; joblib's sequential backend keeps that work in this process, on one
    core like GANSampler, so that its CPU time is counted.
    """
    import joblib
    import torch

    np.random.seed(seed)
    torch.manual_seed(seed)
    model = _ctgan_class(name)(enable_gpu=False)
    if hasattr(model, "set_random_state"):
        model.set_random_state(seed)
    with joblib.parallel_config(backend="sequential"):
        model.fit(train, discrete_columns=list(categorical))
    return model


def sample_ctgan_package(model, n, seed):
    import joblib
    import torch

    np.random.seed(seed)
    torch.manual_seed(seed)
    with joblib.parallel_config(backend="sequential"):
        return model.sample(n)


def fit_copula(train, categorical, seed):
    """sdv's GaussianCopulaSynthesizer with its defaults; the column types given, not guessed."""
    from sdv.metadata import Metadata
    from sdv.single_table import GaussianCopulaSynthesizer

    columns = {c: {"sdtype": "categorical" if c in categorical else "numerical"}
               for c in train.columns}
    metadata = Metadata.load_from_dict({"tables": {"table": {"columns": columns}}})
    np.random.seed(seed)
    model = GaussianCopulaSynthesizer(metadata)
    model.fit({"table": train})
    return model


def sample_copula(model, n, seed):
    np.random.seed(seed)
    return model.sample(n)["table"]


SAMPLERS = {
    "GANSampler": (fit_gansampler, sample_gansampler),
    "ctgan": (lambda t, c, s, p: fit_ctgan_package("ctgan", t, c, s), sample_ctgan_package),
    "tvae": (lambda t, c, s, p: fit_ctgan_package("tvae", t, c, s), sample_ctgan_package),
    "copula": (lambda t, c, s, p: fit_copula(t, c, s), sample_copula),
}
LABELS = {
    "holdout": "real holdout rows (reference)",
    "independent": "independent columns (reference)",
    "GANSampler": "GANSampler (defaults)",
    "GANSampler_plain": "GANSampler, sampled without rejection (same fits)",
    "ctgan": "ctgan.CTGAN (its defaults)",
    "tvae": "ctgan.TVAE (its defaults)",
    "copula": "sdv GaussianCopulaSynthesizer (its defaults)",
}


def run_tables(args, params):
    """Every table x seed x method; prints one line per fit and the summary tables."""
    from sklearn.model_selection import train_test_split

    names = args.only or list(TABLES)
    methods = ["holdout", "independent", *args.methods]
    if "GANSampler" in methods:  # one fit, sampled with and without rejection
        methods.insert(methods.index("GANSampler") + 1, "GANSampler_plain")
    seeds = range(args.first_seed, args.first_seed + args.seeds)
    results = {}
    for name in names:
        frame, categorical, target = load_table(args.data_dir, name)
        print(f"{name}: {frame.shape[0]} rows, {frame.shape[1]} columns, categorical "
              f"{categorical}, target {target}", flush=True)
        for seed in seeds:
            train, holdout = train_test_split(frame, test_size=0.3, random_state=seed,
                                              stratify=frame[target])
            train, holdout = train.reset_index(drop=True), holdout.reset_index(drop=True)
            fitted = {}
            for method in methods:
                elapsed = cpu = np.nan
                if method == "holdout":  # the real 30% against the real 70%
                    s = score(train, holdout, holdout, target, categorical, seed,
                              tstr_rows=train)
                else:
                    if method == "independent":  # right marginals, no dependence
                        rng = np.random.RandomState(seed)
                        rows = train.apply(lambda col: rng.permutation(col.to_numpy()))
                    elif method == "GANSampler_plain":
                        model = fitted["GANSampler"].set_params(rejection_sampling=False)
                        rows = as_training_dtypes(model.sample(len(train), random_state=seed),
                                                  train)
                        model.set_params(rejection_sampling=True)
                        elapsed, cpu = results[name, "GANSampler"][-1]["wall"], \
                            results[name, "GANSampler"][-1]["cpu"]
                    else:
                        fit, sample = SAMPLERS[method]
                        model, elapsed, cpu = timed(
                            lambda: fit(train, categorical, seed, params))
                        fitted[method] = model
                        rows = as_training_dtypes(sample(model, len(train), seed), train)
                    s = score(train, rows, holdout, target, categorical, seed)
                s.update(wall=elapsed, cpu=cpu)
                results.setdefault((name, method), []).append(s)
                print(f"  {name} seed {seed} {method}: AUC {s['auc']:.3f}, marginal "
                      f"{s['marginal']:.3f} (worst {s['worst_column']} "
                      f"{s['worst_marginal']:.3f}), dependence {s['dependence']:.3f}, TSTR "
                      f"{s['tstr']:.3f}, DCR ratio {s['dcr']:.2f}, close {s['close']:.3f}, "
                      f"fit {elapsed:.1f} s wall, {cpu:.1f} s CPU",
                      flush=True)
    print_summary(results, names, methods)
    return results


def print_summary(results, names, methods):
    print()
    print("| table | method | detection AUC (mean; worst) | marginal distance (mean; "
          "worst column) | dependence error (mean) | TSTR accuracy (mean; real: "
          "train on real) | DCR ratio (mean; lowest) | close rows (mean) "
          "| fit CPU s (mean; max) |")
    print("|---|---|---|---|---|---|---|---|---|")
    for name in names:
        for method in methods:
            r = results[name, method]
            auc = np.array([s["auc"] for s in r])
            worst = max(r, key=lambda s: s["worst_marginal"])
            cpu = np.array([s["cpu"] for s in r])
            times = "" if np.isnan(cpu).all() else f"{cpu.mean():.1f}; {cpu.max():.1f}"
            print(f"| {name} | {LABELS[method]} | {auc.mean():.3f}; {auc.max():.3f} "
                  f"| {np.mean([s['marginal'] for s in r]):.3f}; {worst['worst_column']} "
                  f"{worst['worst_marginal']:.3f} "
                  f"| {np.mean([s['dependence'] for s in r]):.3f} "
                  f"| {np.mean([s['tstr'] for s in r]):.3f} "
                  f"| {np.mean([s['dcr'] for s in r]):.2f}; {min(s['dcr'] for s in r):.2f} "
                  f"| {np.mean([s['close'] for s in r]):.3f} | {times} |")
