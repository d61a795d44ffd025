"""Class-by-class augmentation for ``bench_gan.py --augment``.

ISLP's ``Default`` table (10,000 credit-card holders, 3.3% of whom default;
columns ``student``, ``balance``, ``income``), taken from the ISLP wheel as
in ``_tables.py``. Each seed splits it 70/30, stratified; every method sees
the 70% only and ends with a training set whose two classes are as large as
each other:

* real rows only (the imbalanced baseline) and ``class_weight="balanced"``
  (reweighting, no new rows), as references;
* random oversampling: minority rows drawn again with replacement;
* SMOTE-NC (``imblearn``; ``student`` declared categorical), if installed;
* GANSampler with its defaults, fit conditionally on the class
  (``fit(X, y)``), then ``sample(n, y="Yes")`` for the missing minority rows.

Two classifiers are trained on each set: a logistic regression (one-hot
``student``, standardized numbers) and a ``HistGradientBoostingClassifier``
(native categorical support). The score is balanced accuracy on the real
30%, with ROC AUC beside it (oversampling moves the threshold more than the
ranking).
"""

import numpy as np

from _tables import as_training_dtypes, timed

CATEGORICAL = ["student"]
MINORITY = "Yes"


def load_default(data_dir):
    """(features DataFrame, labels) of ISLP's Default table."""
    import os

    import pandas as pd

    frame = pd.read_csv(os.path.join(data_dir, "Default.csv"))
    X = frame[["student", "balance", "income"]].copy()
    X["student"] = X["student"].astype(str).astype(object)
    return X, frame["default"].astype(str).to_numpy()


def _classifiers(seed):
    from sklearn.compose import make_column_transformer
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    def logistic(class_weight=None):
        prep = make_column_transformer((OneHotEncoder(drop="if_binary"), CATEGORICAL),
                                       remainder=StandardScaler())
        return make_pipeline(prep, LogisticRegression(class_weight=class_weight,
                                                      max_iter=1000))

    def boosting(class_weight=None):
        return HistGradientBoostingClassifier(categorical_features="from_dtype",
                                              class_weight=class_weight, random_state=seed)

    return {"logistic regression": logistic, "HistGradientBoosting": boosting}


def _scores(make, X, y, X_test, y_test):
    import pandas as pd
    from sklearn.metrics import balanced_accuracy_score, roc_auc_score

    def categorical(frame):
        frame = frame.copy()
        for c in CATEGORICAL:
            frame[c] = pd.Categorical(frame[c].astype(str), categories=["No", "Yes"])
        return frame

    model = make().fit(categorical(X), y)
    proba = model.predict_proba(categorical(X_test))[:, list(model.classes_).index(MINORITY)]
    return (balanced_accuracy_score(y_test, model.predict(categorical(X_test))),
            roc_auc_score(y_test == MINORITY, proba))


def augmented_sets(X, y, seed):
    """{method: (features, labels, fit CPU s)}: the training sets every classifier sees."""
    import pandas as pd

    rng = np.random.RandomState(seed)
    minority = np.flatnonzero(y == MINORITY)
    n_new = int(np.sum(y != MINORITY)) - minority.size
    sets = {"real rows only": (X, y, np.nan)}
    extra = rng.choice(minority, n_new, replace=True)
    sets["random oversampling"] = (pd.concat([X, X.iloc[extra]], ignore_index=True),
                                   np.r_[y, y[extra]], np.nan)
    try:
        from imblearn.over_sampling import SMOTENC
    except ImportError:
        print("  imblearn not installed: SMOTE-NC skipped", flush=True)
    else:
        smote = SMOTENC(categorical_features=CATEGORICAL, random_state=seed)
        (Xs, ys), _, cpu = timed(lambda: smote.fit_resample(X, y))
        sets["SMOTE-NC (imblearn)"] = (Xs.reset_index(drop=True), np.asarray(ys), cpu)

    from skneural import GANSampler

    gan, _, cpu = timed(lambda: GANSampler(random_state=seed, n_threads=1).fit(X, y))
    rows = as_training_dtypes(gan.sample(n_new, y=MINORITY, random_state=seed), X)
    sets["GANSampler (defaults), sample(n, y='Yes')"] = (
        pd.concat([X, rows], ignore_index=True), np.r_[y, np.full(n_new, MINORITY)], cpu)
    return sets


def run_augment(args):
    """Every seed x training set x classifier; prints each score and the summary table."""
    from sklearn.model_selection import train_test_split

    X_all, y_all = load_default(args.data_dir)
    print(f"Default: {len(y_all)} rows, {np.mean(y_all == MINORITY):.1%} '{MINORITY}'",
          flush=True)
    results = {}
    for seed in range(args.first_seed, args.first_seed + args.seeds):
        X, X_test, y, y_test = train_test_split(X_all, y_all, test_size=0.3,
                                                random_state=seed, stratify=y_all)
        X, X_test = X.reset_index(drop=True), X_test.reset_index(drop=True)
        sets = augmented_sets(X, y, seed)
        for clf_name, make in _classifiers(seed).items():
            runs = {method: (lambda make=make: make(), Xa, ya, cpu)
                    for method, (Xa, ya, cpu) in sets.items()}
            runs["class_weight='balanced' (real rows)"] = (
                lambda make=make: make("balanced"), X, y, np.nan)
            for method, (factory, Xa, ya, cpu) in runs.items():
                bacc, auc = _scores(factory, Xa, ya, X_test, y_test)
                results.setdefault((clf_name, method), []).append((bacc, auc, cpu))
                print(f"  seed {seed} {clf_name} | {method}: balanced accuracy {bacc:.3f}, "
                      f"ROC AUC {auc:.3f}" + ("" if np.isnan(cpu) else f", {cpu:.1f} s CPU"),
                      flush=True)
    print()
    print("| classifier | training set | balanced accuracy (mean; worst seed) | change "
          "against real rows only | ROC AUC (mean) | sampler CPU s |")
    print("|---|---|---|---|---|---|")
    for (clf_name, method), r in results.items():
        r = np.array(r)
        base = np.array(results[clf_name, "real rows only"])[:, 0].mean()
        cpu = "" if np.isnan(r[:, 2]).all() else f"{r[:, 2].mean():.1f}"
        print(f"| {clf_name} | {method} | {r[:, 0].mean():.3f}; {r[:, 0].min():.3f} "
              f"| {r[:, 0].mean() - base:+.3f} | {r[:, 1].mean():.3f} | {cpu} |")
    return results
