"""Mixed-type tables: learned embeddings against one-hot encoding and native gradient boosting.

On ISLP's real tables with categorical columns, the same 5 CV folds each:

- ``skneural embeddings``: numeric columns standardized, categorical columns
  passed through as they are and read by ``MLPClassifier``/``MLPRegressor``
  (defaults) through learned embeddings;
- ``skneural one-hot``: the same estimator at its defaults after
  ``OneHotEncoder(handle_unknown="ignore")``;
- ``sklearn MLP one-hot``: sklearn's MLP at its defaults, same encoding;
- ``HGB native``: ``HistGradientBoosting*`` at its defaults with
  ``categorical_features="from_dtype"``.

Classification reports accuracy and log-loss, regression RMSE and R²
(mean ± standard error over folds), with the fit time per fold.

    python benchmarks/bench_categorical.py [--data-dir DIR] [--tables Wage Credit ...]

The tables ship in the ISLP wheel: with ISLP installed they are found by
themselves; otherwise ``pip download --no-deps ISLP`` and unzip the wheel,
then pass ``--data-dir <unzipped>/ISLP/data``.
"""

import argparse
import importlib.util
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer, make_column_selector
from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import accuracy_score, log_loss, mean_squared_error, r2_score
from sklearn.model_selection import KFold, StratifiedKFold
from sklearn.neural_network import MLPClassifier as SkMLPClassifier
from sklearn.neural_network import MLPRegressor as SkMLPRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from skneural import MLPClassifier, MLPRegressor

warnings.filterwarnings("ignore", category=ConvergenceWarning)

#: table -> (target, task, columns to drop, how to make the target)
TABLES = {
    "Wage": ("wage", "regression", ["logwage"], None),
    "Credit": ("Balance", "regression", ["ID"], None),
    "Bikeshare": ("bikers", "regression", ["casual", "registered"], None),
    "Carseats": ("High", "classification", ["Sales"], lambda df: np.where(df["Sales"] > 8,
                                                                            "Yes", "No")),
    "OJ": ("Purchase", "classification", ["STORE"], None),
    "Wage_health_ins": ("health_ins", "classification", ["logwage"], None),
}
#: integer-coded columns that name categories (hour of day, month, store)
AS_CATEGORY = {"Bikeshare": ["mnth", "hr", "weathersit"], "OJ": ["StoreID"]}


def islp_data_dir():
    spec = importlib.util.find_spec("ISLP")
    return None if spec is None else Path(spec.origin).parent / "data"


def load(name, data_dir):
    target, task, drop, make_target = TABLES[name]
    df = pd.read_csv(data_dir / f"{name.split('_')[0]}.csv")
    df = df.drop(columns=[c for c in df.columns if c.startswith("Unnamed")])
    if make_target is not None:
        df[target] = make_target(df)
    df = df.drop(columns=[c for c in drop if c in df.columns])
    y = df.pop(target).to_numpy()
    for column in df.columns:
        if df[column].dtype == object or column in AS_CATEGORY.get(name, []) \
                or pd.api.types.is_string_dtype(df[column]):
            df[column] = df[column].astype(str).astype("category")
    return df, y, task


def contenders(task):
    numeric = make_column_selector(dtype_include="number")
    categorical = make_column_selector(dtype_include="category")
    scale = ColumnTransformer([("num", StandardScaler(), numeric)], remainder="passthrough",
                              verbose_feature_names_out=False).set_output(transform="pandas")

    def one_hot():
        return ColumnTransformer([("num", StandardScaler(), numeric),
                                  ("cat", OneHotEncoder(handle_unknown="ignore",
                                                        sparse_output=False), categorical)])
    ours, theirs, hgb = ((MLPClassifier, SkMLPClassifier, HistGradientBoostingClassifier)
                         if task == "classification" else
                         (MLPRegressor, SkMLPRegressor, HistGradientBoostingRegressor))
    return {
        "skneural embeddings": lambda: make_pipeline(scale, ours(random_state=0)),
        "skneural one-hot": lambda: make_pipeline(one_hot(), ours(random_state=0)),
        "sklearn MLP one-hot": lambda: make_pipeline(one_hot(), theirs(random_state=0)),
        "HGB native": lambda: hgb(categorical_features="from_dtype", random_state=0),
    }


def evaluate(model, X, y, task, folds):
    scores, times = [], []
    for train, test in folds:
        est = model()
        start = time.perf_counter()
        est.fit(X.iloc[train], y[train])
        times.append(time.perf_counter() - start)
        if task == "classification":
            proba = est.predict_proba(X.iloc[test])
            labels = est.classes_ if hasattr(est, "classes_") else est[-1].classes_
            scores.append((accuracy_score(y[test], labels[proba.argmax(1)]),
                           log_loss(y[test], proba, labels=labels)))
        else:
            pred = est.predict(X.iloc[test])
            scores.append((np.sqrt(mean_squared_error(y[test], pred)),
                           r2_score(y[test], pred)))
    scores = np.array(scores)
    se = scores.std(axis=0, ddof=1) / np.sqrt(len(scores))
    return scores.mean(axis=0), se, float(np.mean(times))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=None)
    parser.add_argument("--tables", nargs="+", default=list(TABLES), choices=list(TABLES))
    parser.add_argument("--folds", type=int, default=5)
    args = parser.parse_args()
    data_dir = args.data_dir or islp_data_dir()
    if data_dir is None:
        parser.error("ISLP is not installed: pass --data-dir (see the module docstring)")
    print("| table | rows | categorical columns (levels) | model | accuracy or RMSE "
          "| log-loss or R² | fit s |")
    print("|---|---|---|---|---|---|---|")
    for name in args.tables:
        X, y, task = load(name, data_dir)
        splitter = (StratifiedKFold if task == "classification" else KFold)(
            args.folds, shuffle=True, random_state=0)
        folds = list(splitter.split(X, y))
        cats = ", ".join(f"{c} ({X[c].nunique()})" for c in X.columns
                         if isinstance(X[c].dtype, pd.CategoricalDtype))
        for label, model in contenders(task).items():
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", UserWarning)  # unseen categories in a fold
                (first, second), (se1, se2), seconds = evaluate(model, X, y, task, folds)
            print(f"| {name} ({task}) | {len(y)} | {cats} | {label} | {first:.4g} ± {se1:.2g} "
                  f"| {second:.4g} ± {se2:.2g} | {seconds:.2f} |", flush=True)


if __name__ == "__main__":
    main()
