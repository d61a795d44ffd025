"""polars DataFrames and Series go wherever pandas ones do (scikit-learn's own support).

Each test fits once on polars and once on the same numbers as numpy (or
pandas) and asserts equal results, so polars input changes nothing but the
container. (Frames reach the networks as column-major arrays, so a float may
differ from the numpy fit's in its last bit.) The MLPs' categorical columns
are tested with their feature.
"""

import pickle
import warnings

import numpy as np
import pytest
from sklearn.model_selection import cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from _estimators import CLASSIFIERS, FACTORIES, SUPERVISED, data, fit
from skneural import TRUSTED_TYPES, GANSampler, log_likelihood_scorer
from skneural._gan.encoder import categorical_indices

pl = pytest.importorskip("polars")

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

GAN_SMALL = {"generator_hidden_layer_sizes": (16,), "discriminator_hidden_layer_sizes": (16,),
             "latent_dim": 4, "max_iter": 3, "batch_size": 32, "n_threads": 1, "random_state": 0}


def frame_and_target(name):
    """``data(name)`` as a polars DataFrame and Series; classifiers get string labels."""
    X, y = data(name)
    if name in CLASSIFIERS:
        y = np.where(y == 1, "dog", "cat")
    columns = [f"f{i}" for i in range(X.shape[1])]
    return X, y, pl.DataFrame(X, schema=columns), pl.Series("target", y)


@pytest.mark.parametrize("name", SUPERVISED)
def test_polars_fit_predicts_as_numpy_and_checks_feature_names(name):
    X, y, frame, target = frame_and_target(name)
    est = fit(name, frame, target)
    assert list(est.feature_names_in_) == frame.columns
    expected = fit(name, X, y).predict(X)
    if name in CLASSIFIERS:
        np.testing.assert_array_equal(est.predict(frame), expected)
    else:
        np.testing.assert_allclose(est.predict(frame), expected, rtol=1e-12)
    if name in CLASSIFIERS:
        assert list(est.classes_) == ["cat", "dog"]
        np.testing.assert_allclose(est.predict_proba(frame).sum(axis=1), 1.0)
        assert est.score(frame, target) == np.mean(expected == y)
    with pytest.warns(UserWarning, match="does not have valid feature names"):
        est.predict(X)
    for renamed in (frame.rename({"f0": "zz"}), frame.select(frame.columns[::-1])):
        with pytest.raises(ValueError, match="feature names should match"):
            est.predict(renamed)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the training columns in order: no warning
        est.predict(frame)


def test_mlp_string_labels_from_a_categorical_polars_series():
    X, y, frame, _ = frame_and_target("MLPClassifier")
    labels = pl.Series("target", y).cast(pl.Categorical)
    clf = FACTORIES["MLPClassifier"]().fit(frame, labels)
    assert clf.classes_.tolist() == ["cat", "dog"] and clf.out_activation_ == "logistic"
    np.testing.assert_allclose(clf.predict_proba(frame),
                               FACTORIES["MLPClassifier"]().fit(X, y).predict_proba(X), rtol=1e-12)


def test_validation_rows_as_polars_score_like_numpy():
    X, y, frame, target = frame_and_target("MLPClassifier")
    params = dict(early_stopping=True, n_iter_no_change=2, max_iter=6)
    clf = FACTORIES["MLPClassifier"](**params).fit(frame[:30], target[:30], X_val=frame[30:],
                                                   y_val=target[30:])
    ref = FACTORIES["MLPClassifier"](**params).fit(X[:30], y[:30], X_val=X[30:], y_val=y[30:])
    assert clf.validation_scores_ == ref.validation_scores_
    np.testing.assert_allclose(clf.validation_loss_curve_, ref.validation_loss_curve_,
                               rtol=1e-12)


def test_pipeline_with_polars_output_keeps_feature_names():
    X, y, frame, target = frame_and_target("MLPClassifier")
    pipe = make_pipeline(StandardScaler(), FACTORIES["MLPClassifier"]())
    pipe.set_output(transform="polars").fit(frame, target)
    assert list(pipe[-1].feature_names_in_) == frame.columns
    plain = make_pipeline(StandardScaler(), FACTORIES["MLPClassifier"]()).fit(X, y)
    np.testing.assert_allclose(pipe.predict_proba(frame), plain.predict_proba(X), rtol=1e-12)


def test_mdn_likelihood_and_scorer_take_polars():
    X, y, frame, target = frame_and_target("MixtureDensityRegressor")
    mdn = fit("MixtureDensityRegressor", frame, target)
    np.testing.assert_allclose(mdn.log_likelihood(frame, target),
                               fit("MixtureDensityRegressor", X, y).log_likelihood(X, y),
                               rtol=1e-12)
    scores = cross_val_score(FACTORIES["MixtureDensityRegressor"](), frame, target, cv=2,
                             scoring=log_likelihood_scorer)
    np.testing.assert_allclose(scores, cross_val_score(
        FACTORIES["MixtureDensityRegressor"](), X, y, cv=2, scoring=log_likelihood_scorer),
        rtol=1e-12)


# ------------------------------------------------------------------ GANSampler
def mixed_columns(n=200):
    rng = np.random.RandomState(0)
    return {"num": rng.normal(10, 2, n), "colour": rng.choice(["red", "blue"], n),
            "size": rng.choice(["S", "M", "L"], n), "grade": rng.choice(["lo", "hi"], n),
            "flag": rng.rand(n) > 0.5, "count": rng.randint(0, 4, n)}


def polars_table(columns):
    return pl.DataFrame(columns).with_columns(pl.col("size").cast(pl.Categorical),
                                              pl.col("grade").cast(pl.Enum(["lo", "hi"])))


def test_gan_detects_polars_categorical_columns():
    table = polars_table(mixed_columns(4))
    assert categorical_indices(table, "auto", 6) == [1, 2, 3, 4]  # str, cat, enum, bool
    assert categorical_indices(table, ["count", "colour"], 6) == [1, 5]
    with pytest.raises(ValueError, match="not columns"):
        categorical_indices(table, ["zz"], 6)


def test_gan_on_a_polars_table_samples_polars_rows_as_pandas_would():
    pd = pytest.importorskip("pandas")
    columns = mixed_columns()
    table = polars_table(columns)
    model = GANSampler(**GAN_SMALL).fit(table)
    assert model.categorical_features_ == [1, 2, 3, 4]
    assert list(model.get_feature_names_out()) == table.columns
    out = model.sample(150, random_state=0)
    assert isinstance(out, pl.DataFrame) and out.schema == table.schema
    for name in ("colour", "size", "grade", "flag"):
        assert set(out[name].to_list()) <= set(table[name].to_list())
    # the same table in pandas trains the same networks: the same rows come back
    frame = pd.DataFrame({**columns, "size": pd.Categorical(columns["size"]),
                          "grade": pd.Categorical(columns["grade"], ["lo", "hi"])})
    expected = GANSampler(**GAN_SMALL).fit(frame).sample(150, random_state=0)
    for name in table.columns:
        np.testing.assert_array_equal(out[name].to_numpy(), np.asarray(expected[name]))


def test_polars_fitted_gan_round_trips_and_conditions_on_a_polars_series():
    columns = mixed_columns()
    table = polars_table(columns)
    labels = pl.Series("kind", np.where(columns["num"] > 10, "high", "low"))
    model = GANSampler(**GAN_SMALL).fit(table, labels)
    rows, kinds = model.sample(20, y="high", random_state=0, return_y=True)
    assert rows.schema == table.schema and set(kinds) == {"high"}
    restored = pickle.loads(pickle.dumps(model))
    assert restored.sample(20, y="high", random_state=0).equals(rows)
    sio = pytest.importorskip("skops.io")
    assert set(sio.get_untrusted_types(data=sio.dumps(model))) <= set(TRUSTED_TYPES)
    loaded = sio.loads(sio.dumps(model), trusted=TRUSTED_TYPES)
    assert loaded.sample(20, y="high", random_state=0).equals(rows)


def test_gan_sample_follows_polars_set_output():
    X = np.random.RandomState(0).normal(size=(40, 3))
    gan = GANSampler(**GAN_SMALL).fit(X)
    rows = gan.set_output(transform="polars").sample(4, random_state=0)
    assert isinstance(rows, pl.DataFrame) and rows.columns == ["x0", "x1", "x2"]
    np.testing.assert_array_equal(rows.to_numpy(),
                                  gan.set_output(transform="default").sample(4, random_state=0))


def test_plot_samples_reads_polars_columns_by_name_and_position():
    pytest.importorskip("matplotlib")
    import matplotlib.pyplot as plt

    from skneural.plotting import plot_samples

    X, _ = data("GANSampler")
    table = pl.DataFrame(X, schema=[f"c{i}" for i in range(X.shape[1])])
    samples = GANSampler(**GAN_SMALL).fit(table).sample(11, random_state=0)
    ax = plot_samples(table, samples, features=("c2", 0))
    real, generated = ax.collections
    np.testing.assert_array_equal(real.get_offsets(), X[:, [2, 0]])
    np.testing.assert_array_equal(generated.get_offsets(), samples.select("c2", "c0").to_numpy())
    plt.close(ax.figure)
