"""Categorical columns read through learned embeddings (MLPs and the MDN)."""

import pickle
import warnings

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.compose import ColumnTransformer
from sklearn.model_selection import cross_validate
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skneural import MixtureDensityRegressor, MLPClassifier, MLPRegressor
from skneural._core.tabular import auto_embedding_dim

FAST = dict(hidden_layer_sizes=(16,), max_iter=60, learning_rate_init=0.01, random_state=0,
            n_threads=1)
LEVELS = [f"level_{i:02d}" for i in range(20)]


def table(n=600, seed=0, missing=0.0):
    """A numeric column and a 20-level categorical column whose effect sets the class."""
    rng = np.random.RandomState(seed)
    cat = rng.choice(LEVELS, n).astype(object)
    if missing:
        cat[rng.rand(n) < missing] = np.nan
    effect = {level: e for level, e in zip(LEVELS, np.random.RandomState(99).normal(0, 2, 20))}
    effect[np.nan] = 3.0
    x = rng.normal(size=n)
    signal = x + np.array([effect.get(c, 3.0) if isinstance(c, str) else 3.0 for c in cat])
    X = pd.DataFrame({"x": x, "cat": pd.Categorical(cat, categories=LEVELS)})
    return X, (signal > 0).astype(int), signal


def fit_quiet(est, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return est.fit(*args, **kwargs)


def test_from_dtype_finds_category_string_and_object_columns():
    X = pd.DataFrame({"num": [0.0, 1.0, 2.0, 3.0] * 5, "flag": [True, False] * 10,
                      "cat": pd.Categorical(list("abab") * 5),
                      "text": pd.array(list("uvwu") * 5, dtype="string"),
                      "obj": pd.Series(list("pqpq") * 5, dtype=object)})
    est = fit_quiet(MLPClassifier(**FAST), X, [0, 1] * 10)
    np.testing.assert_array_equal(est.is_categorical_, [False, False, True, True, True])
    assert list(est.feature_names_in_) == list(X.columns)
    # the first layer reads 2 numeric columns and the three embeddings
    assert est.coefs_[0].shape[0] == 2 + sum(est.embedding_dims_)
    assert fit_quiet(MLPClassifier(**FAST), X.iloc[:, :2], [0, 1] * 10).is_categorical_ is None


def test_embedding_learns_a_high_cardinality_effect():
    X, y, _ = table(900)
    X_new, y_new, _ = table(600, seed=1)
    est = fit_quiet(MLPClassifier(**{**FAST, "max_iter": 150}), X, y)
    assert est.embedding_dims_ == [auto_embedding_dim(21)]
    # read as a number (the level's index), the effect is not monotone: far worse
    as_codes = X.assign(cat=X["cat"].cat.codes.astype(float))
    numeric = fit_quiet(MLPClassifier(**{**FAST, "max_iter": 150}), as_codes, y)
    embedded_acc = est.score(X_new, y_new)
    numeric_acc = numeric.score(X_new.assign(cat=X_new["cat"].cat.codes.astype(float)), y_new)
    assert embedded_acc > 0.9
    assert embedded_acc > numeric_acc + 0.1


def _unknown_vector(est, X_train, column=0):
    """The training-frequency-weighted mean of a column's embedding rows, computed here.

    A column's table holds the missing value's row, then one row per category.
    """
    table = est.module_.embedding.table(column).detach().numpy()
    counts = X_train["cat"].value_counts(dropna=False)
    shares = np.zeros(len(table))
    for level, count in counts.items():
        shares[0 if pd.isna(level) else 1 + LEVELS.index(level)] = count
    return shares @ table / shares.sum()


def test_unseen_category_is_the_average_category_with_one_warning():
    X, y, _ = table(400, missing=0.1)
    est = fit_quiet(MLPClassifier(**FAST), X, y)
    X_new = pd.DataFrame({"x": [0.3, -0.2], "cat": ["never_seen", "level_03"]})
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        proba = est.predict_proba(X_new)
    messages = [str(w.message) for w in caught if "not seen in fit" in str(w.message)]
    assert len(messages) == 1 and "['cat']" in messages[0]
    # the oracle: the body fed the numeric column and the hand-computed mean embedding
    vector = torch.as_tensor(_unknown_vector(est, X))
    with torch.no_grad():
        logit = est.module_.body(torch.cat([torch.tensor([0.3]), vector]).unsqueeze(0))
    np.testing.assert_allclose(proba[0, 1], torch.sigmoid(logit).item(), atol=1e-12)
    # a known category gives no warning
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        est.predict_proba(X_new.iloc[1:])


def test_missing_value_is_its_own_category():
    X, y, _ = table(900, missing=0.15)
    est = fit_quiet(MLPClassifier(**{**FAST, "max_iter": 150}), X, y)
    X_new, y_new, _ = table(600, seed=1, missing=0.15)
    nan_rows = X_new["cat"].isna().to_numpy()
    # NaN rows carry their own effect (+3): learned, not averaged away
    assert est.score(X_new[nan_rows], y_new[nan_rows]) > 0.9
    # a model fitted without missing values reads one as the unknown category, warning
    clean = fit_quiet(MLPClassifier(**FAST), *table(300)[:2])
    with pytest.warns(UserWarning, match="not seen in fit"):
        clean.predict(X_new[nan_rows])


def test_frequencies_follow_sample_weight():
    X, y, _ = table(300)
    w = np.random.RandomState(1).uniform(0.1, 3.0, len(y))
    est = fit_quiet(MLPClassifier(**FAST), X, y, sample_weight=w)
    expected = np.zeros(len(LEVELS) + 1)
    for level, weight in zip(X["cat"], w):
        expected[1 + LEVELS.index(level)] += weight
    np.testing.assert_allclose(est.module_.embedding.shares(0).numpy(),
                               expected / expected.sum(), rtol=1e-12)


@pytest.mark.parametrize("spec", [["cat"], [1], [False, True]])
def test_every_way_to_name_the_column_gives_the_same_fit(spec):
    X, y, _ = table(200)
    reference = fit_quiet(MLPClassifier(**FAST), X, y).predict_proba(X)
    as_text = X.assign(cat=X["cat"].astype(object))  # plain strings, named by the parameter
    est = fit_quiet(MLPClassifier(**FAST, categorical_features=spec), as_text, y)
    np.testing.assert_array_equal(est.predict_proba(X), reference)


def test_category_order_of_the_dtype_does_not_matter():
    X, y, _ = table(200)
    est = fit_quiet(MLPClassifier(**FAST), X, y)
    reordered = X.assign(cat=X["cat"].cat.reorder_categories(LEVELS[::-1]))
    np.testing.assert_array_equal(est.predict_proba(reordered), est.predict_proba(X))


def test_numpy_object_array_with_indices():
    X, y, _ = table(200)
    est = fit_quiet(MLPClassifier(**FAST, categorical_features=[1]),
                    X.to_numpy(dtype=object), y)
    np.testing.assert_array_equal(est.is_categorical_, [False, True])
    assert not hasattr(est, "feature_names_in_")
    reference = fit_quiet(MLPClassifier(**FAST), X, y)
    np.testing.assert_allclose(est.predict_proba(X.to_numpy(dtype=object)),
                               reference.predict_proba(X), atol=1e-12)


def test_polars_table_gives_the_pandas_fit():
    pl = pytest.importorskip("polars")
    X, y, _ = table(200)
    X_pl = pl.DataFrame({"x": X["x"].to_numpy(),
                         "cat": pl.Series(X["cat"].astype(str).to_list(), dtype=pl.Categorical)})
    est = fit_quiet(MLPClassifier(**FAST), X_pl, y)
    reference = fit_quiet(MLPClassifier(**FAST), X, y)
    np.testing.assert_array_equal(est.is_categorical_, [False, True])
    np.testing.assert_array_equal(est.predict_proba(X_pl), reference.predict_proba(X))


def test_embedding_dim_int_dict_and_errors():
    X, y, _ = table(200)
    X = X.assign(other=pd.Categorical(np.where(X["x"] > 0, "hi", "lo")))
    assert fit_quiet(MLPClassifier(**FAST, embedding_dim=3), X, y).embedding_dims_ == [3, 3]
    est = fit_quiet(MLPClassifier(**FAST, embedding_dim={"other": 1}), X, y)
    assert est.embedding_dims_ == [auto_embedding_dim(21), 1]
    assert est.coefs_[0].shape[0] == 1 + auto_embedding_dim(21) + 1
    with pytest.raises(ValueError, match="not categorical columns"):
        fit_quiet(MLPClassifier(**FAST, embedding_dim={"x": 2}), X, y)
    with pytest.raises(ValueError, match="embedding_dim"):
        fit_quiet(MLPClassifier(**FAST, embedding_dim={"other": 0}), X, y)


def test_bad_categorical_features_are_refused():
    X, y, _ = table(50)
    with pytest.raises(ValueError, match="not columns of the training data"):
        fit_quiet(MLPClassifier(**FAST, categorical_features=["nope"]), X, y)
    with pytest.raises(ValueError, match="without feature names"):
        fit_quiet(MLPClassifier(**FAST, categorical_features=["cat"]),
                  X.to_numpy(dtype=object), y)
    with pytest.raises(ValueError, match="integer indices"):
        fit_quiet(MLPClassifier(**FAST, categorical_features=[2]), X, y)
    with pytest.raises(ValueError, match="boolean mask"):
        fit_quiet(MLPClassifier(**FAST, categorical_features=[True]), X, y)
    with pytest.raises(ValueError, match="could not convert|numeric"):  # text, not declared
        fit_quiet(MLPClassifier(**FAST, categorical_features=None),
                  X.assign(cat=X["cat"].astype(object)), y)
    est = fit_quiet(MLPClassifier(**FAST), X, y)
    with pytest.raises(ValueError, match="2 features"):
        est.predict(X[["x"]].to_numpy())


def test_regressors_mdn_members_and_persistence():
    X, _, signal = table(300)
    reg = fit_quiet(MLPRegressor(**FAST), X, signal)
    assert reg.score(X, signal) > 0.5
    mdn = fit_quiet(MixtureDensityRegressor(n_components=2, n_estimators=2, max_iter=30,
                                            solver="adam", random_state=0), X, signal)
    assert np.isfinite(mdn.log_likelihood(X, signal)).all()
    tables = [m.embedding.weight for m in mdn.module_.members]
    assert tables[0] is not tables[1] and not torch.equal(tables[0], tables[1])
    for est in (reg, mdn):
        loaded = pickle.loads(pickle.dumps(est))
        np.testing.assert_array_equal(loaded.predict(X), est.predict(X))


def test_skops_round_trip():
    sio = pytest.importorskip("skops.io")
    import skneural
    X, y, _ = table(100)
    est = fit_quiet(MLPClassifier(**FAST), X, y)
    loaded = sio.loads(sio.dumps(est), trusted=skneural.TRUSTED_TYPES + [
        t for t in sio.get_untrusted_types(data=sio.dumps(est)) if t.startswith("sklearn.")])
    np.testing.assert_array_equal(loaded.predict_proba(X), est.predict_proba(X))


def test_in_a_pipeline_under_cross_validation_with_validation_data():
    X, y, _ = table(300, missing=0.05)
    scale = ColumnTransformer([("num", StandardScaler(), ["x"])], remainder="passthrough",
                              verbose_feature_names_out=False).set_output(transform="pandas")
    pipe = make_pipeline(scale, MLPClassifier(**FAST))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        scores = cross_validate(pipe, X, y, cv=3, error_score="raise")["test_score"]
    assert scores.min() > 0.85
    X_val, y_val, _ = table(100, seed=2)
    est = fit_quiet(MLPClassifier(**FAST, early_stopping=True), X, y, X_val=X_val, y_val=y_val)
    assert len(est.validation_scores_) == est.n_iter_


def test_warm_start_and_partial_fit_keep_the_categories():
    X, y, _ = table(200)
    est = fit_quiet(MLPClassifier(**FAST, warm_start=True), X, y)
    before = est.module_.embedding.table(0).detach().clone()
    fit_quiet(est, X.iloc[:50], y[:50])  # a subset without some levels
    assert est.module_.embedding.table(0).shape == before.shape
    online = MLPClassifier(**FAST)
    for chunk in np.tile(np.array_split(np.arange(200), 4), (15, 1)):  # 15 epochs
        online.partial_fit(X.iloc[chunk], y[chunk], classes=[0, 1])
    assert online.embedding_dims_ == est.embedding_dims_
    assert online.score(X, y) > 0.85


def test_float32_numeric_columns_keep_float32():
    X, y, _ = table(100)
    est = fit_quiet(MLPClassifier(**FAST), X.astype({"x": np.float32}), y)
    assert est.module_.embedding.weight.dtype == torch.float32
