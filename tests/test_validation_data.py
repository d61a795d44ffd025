"""Issue 22: the user's own validation set, the early-stopping metric, class weights.

Each test checks that the feature works, not just runs: the rows given as
``X_val`` are the rows the engine scored, and the recorded validation loss
is the loss computed by hand on them with the restored weights; a
``class_weight`` fit is bitwise the fit with the equivalent
``sample_weight``.
"""

import pickle

import numpy as np
import pytest
import sklearn
from sklearn.base import clone
from sklearn.datasets import make_blobs, make_multilabel_classification
from sklearn.metrics import log_loss
from sklearn.model_selection import GridSearchCV, cross_validate
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.class_weight import compute_sample_weight

from _estimators import CLASSIFIERS, FACTORIES, SUPERVISED, data, record_validation_epochs
from skneural import LSTMSequenceClassifier, MixtureDensityRegressor, MLPClassifier

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

ES = dict(early_stopping=True, n_iter_no_change=5, max_iter=40, random_state=0, n_threads=1)


@pytest.fixture
def blobs():
    X, y = make_blobs(n_samples=240, centers=3, cluster_std=3.0, random_state=0)
    return X[:180], y[:180], X[180:], y[180:]


def val_rows(record):
    """The rows of the first input tensor the engine scored, as numpy."""
    return record["val"].inputs[0].cpu().numpy()


# ------------------------------------------------------------------ X_val, y_val
def test_given_validation_rows_are_the_ones_monitored(blobs):
    X, y, X_val, y_val = blobs
    w_val = np.linspace(0.5, 2.0, len(y_val))
    clf = MLPClassifier(hidden_layer_sizes=(16,), learning_rate_init=0.01, **ES)
    record = record_validation_epochs(clf)
    clf.fit(X, y, X_val=X_val, y_val=y_val, sample_weight_val=w_val)
    np.testing.assert_array_equal(val_rows(record), X_val)
    # the internal split is off: every training row trains in every epoch
    assert clf.t_ == clf.n_iter_ * len(X)
    # oracle: the recorded loss of the best epoch is the weighted log-loss on X_val of
    # the restored weights, and the scores are the weighted accuracies there
    best = int(np.argmax(clf.validation_scores_))
    proba = clf.predict_proba(X_val)
    assert clf.validation_loss_curve_[best] == pytest.approx(
        log_loss(y_val, proba, sample_weight=w_val), rel=1e-10)
    assert clf.best_validation_score_ == pytest.approx(
        clf.score(X_val, y_val, sample_weight=w_val), rel=1e-12)
    assert len(clf.validation_loss_curve_) == len(clf.validation_scores_) == clf.n_iter_


def test_given_validation_rows_ignore_validation_fraction(blobs):
    X, y, X_val, y_val = blobs
    fits = [MLPClassifier(hidden_layer_sizes=(8,), validation_fraction=f, **ES).fit(
        X, y, X_val=X_val, y_val=y_val) for f in (0.1, 0.5)]
    np.testing.assert_array_equal(fits[0].predict_proba(X), fits[1].predict_proba(X))
    internal = MLPClassifier(hidden_layer_sizes=(8,), **ES).fit(X, y)
    assert internal.t_ == internal.n_iter_ * (len(X) - 18)  # 10% held out


def test_mdn_validation_loss_is_the_negative_log_likelihood_of_x_val():
    rng = np.random.RandomState(0)
    X = rng.uniform(-1, 1, size=(300, 2))
    y = np.sin(3 * X[:, 0]) + 0.3 * rng.normal(size=300)
    mdn = MixtureDensityRegressor(n_components=2, hidden_layer_sizes=(16,), solver="adam",
                                  learning_rate_init=0.01, batch_size=32, **ES)
    mdn.fit(X[:200], y[:200], X_val=X[200:], y_val=y[200:])
    best = int(np.argmax(mdn.validation_scores_))
    nll = -mdn.log_likelihood(X[200:], y[200:]).mean()
    assert mdn.validation_loss_curve_[best] == pytest.approx(nll, rel=1e-10)
    # scoring="loss" (the regressors' default): the score is the negative loss
    assert mdn.validation_scores_ == [-v for v in mdn.validation_loss_curve_]


def test_lstm_takes_variable_length_sequences_as_x_val():
    rng = np.random.RandomState(0)
    lengths = rng.randint(5, 12, size=60)
    y = np.arange(60) % 2
    X = [rng.normal(size=(n, 2)) + label for n, label in zip(lengths, y)]
    clf = LSTMSequenceClassifier(hidden_size=4, conv_channels=(4,), **ES)
    record = record_validation_epochs(clf)
    clf.fit(X[:40], y[:40], X_val=X[40:], y_val=y[40:])
    inputs = record["val"].inputs
    assert inputs[0].shape[0] == 20
    np.testing.assert_array_equal(inputs[1].cpu().numpy(), lengths[40:])  # each its length
    assert clf.best_validation_score_ == pytest.approx(clf.score(X[40:], y[40:]))


@pytest.mark.parametrize("kwargs, match", [
    (dict(X_val="X"), "y_val was not provided"),
    (dict(y_val="y"), "X_val was not provided"),
    (dict(sample_weight_val=np.ones(5)), "sample_weight_val is provided"),
    (dict(X_val="X", y_val="y", early_stopping=False), "early_stopping"),
    (dict(X_val="X", y_val="y", solver="lbfgs"), "lbfgs"),
    (dict(X_val="X3", y_val="y"), "features"),
    (dict(X_val="Xnan", y_val="y"), "NaN"),
    (dict(X_val="X", y_val="y_unseen"), "y_val.*not seen"),
    (dict(X_val="X", y_val="y_short"), "inconsistent numbers of samples"),
    (dict(X_val="X", y_val="y", sample_weight_val=np.ones(3)), "sample_weight"),
    (dict(X_val="X", y_val="y", sample_weight_val=np.zeros(20)), "zero for every"),
])
def test_bad_validation_data_is_a_clear_error(blobs, kwargs, match):
    X, y, X_val, y_val = blobs
    X_val, y_val = X_val[:20], y_val[:20]
    values = {"X": X_val, "X3": X_val[:, :1], "Xnan": np.where(X_val > 5, np.nan, X_val),
              "y": y_val, "y_unseen": np.where(y_val == 0, 7, y_val), "y_short": y_val[:5]}
    fit_kwargs = {k: values.get(v, v) if isinstance(v, str) else v for k, v in kwargs.items()
                  if k in ("X_val", "y_val", "sample_weight_val")}
    params = {k: v for k, v in kwargs.items() if k not in fit_kwargs}
    clf = MLPClassifier(hidden_layer_sizes=(4,), **{**ES, **params})
    with pytest.raises(ValueError, match=match):
        clf.fit(X, y, **fit_kwargs)


def test_pipeline_transforms_and_routes_x_val_in_a_grid_search(blobs):
    X, y, X_val, y_val = blobs
    X, X_val = 50 * X + 7, 50 * X_val + 7  # the scaler's work shows in the scored rows
    with sklearn.config_context(enable_metadata_routing=True):
        clf = MLPClassifier(hidden_layer_sizes=(8,), **ES).set_fit_request(X_val=True,
                                                                           y_val=True)
        pipe = Pipeline([("scale", StandardScaler()), ("clf", clf)], transform_input=["X_val"])
        record = record_validation_epochs(clf)
        pipe.fit(X, y, X_val=X_val, y_val=y_val)
        scaler = pipe.named_steps["scale"]
        np.testing.assert_allclose(val_rows(record), scaler.transform(X_val), rtol=1e-12)
        search = GridSearchCV(pipe, {"clf__alpha": [1e-4, 1e-1]}, cv=3)
        search.fit(X, y, X_val=X_val, y_val=y_val)
        cv = cross_validate(pipe, X, y, cv=3, params={"X_val": X_val, "y_val": y_val},
                            return_estimator=True)
    for fold in cv["estimator"]:  # each fold's model trained on all its rows, scored X_val
        clf = fold.named_steps["clf"]
        assert clf.t_ == clf.n_iter_ * 120
        assert clf.best_validation_score_ == pytest.approx(fold.score(X_val, y_val))
    assert search.best_params_["clf__alpha"] in (1e-4, 1e-1)
    fitted = search.best_estimator_.named_steps["clf"]
    assert fitted.t_ == fitted.n_iter_ * len(X)  # the refit trains on every row
    assert len(fitted.validation_loss_curve_) == fitted.n_iter_


# ------------------------------------------------------------------- scoring
def test_scoring_selects_what_early_stopping_compares(blobs):
    X, y, X_val, y_val = blobs
    fits = {s: MLPClassifier(hidden_layer_sizes=(8,), scoring=s, **ES).fit(
        X, y, X_val=X_val, y_val=y_val) for s in (None, "loss", "neg_log_loss")}
    # sklearn's default for MLPClassifier: accuracy; the loss curve is kept beside it
    assert fits[None].best_validation_score_ == pytest.approx(fits[None].score(X_val, y_val))
    assert fits["loss"].validation_scores_ == [-v for v in fits["loss"].validation_loss_curve_]
    # a scorer computes from predict_proba what the engine computes from logits
    np.testing.assert_allclose(fits["neg_log_loss"].validation_scores_,
                               fits["loss"].validation_scores_, rtol=1e-9)


def test_a_callable_scorer_gets_the_rows_as_given(blobs):
    pd = pytest.importorskip("pandas")
    X, y, X_val, y_val = blobs
    columns = ["a", "b"]
    X, X_val = pd.DataFrame(X, columns=columns), pd.DataFrame(X_val, columns=columns)
    seen = []

    def scorer(est, X_scored, y_scored):
        seen.append((X_scored, y_scored))
        return float(np.mean(est.predict(X_scored) == y_scored))

    clf = MLPClassifier(hidden_layer_sizes=(8,), scoring=scorer, **ES)
    clf.fit(X, y, X_val=X_val, y_val=y_val)
    assert len(seen) == clf.n_iter_ and all(s[0] is X_val for s in seen)
    assert clf.best_validation_score_ == pytest.approx(clf.score(X_val, y_val))
    with pytest.raises(ValueError, match="not_a_scorer"):
        MLPClassifier(scoring="not_a_scorer", **ES).fit(X, y)


# --------------------------------------------------------------- class_weight
@pytest.mark.parametrize("name", CLASSIFIERS)
def test_balanced_class_weight_is_the_equivalent_sample_weight_bitwise(name):
    X, y = data(name, n=60)
    y = np.where(np.arange(60) < 45, 0, y)  # imbalanced
    weighted = FACTORIES[name](class_weight="balanced").fit(X, y)
    equivalent = FACTORIES[name]().fit(X, y, sample_weight=compute_sample_weight("balanced", y))
    np.testing.assert_array_equal(weighted.predict_proba(X), equivalent.predict_proba(X))
    plain = FACTORIES[name]().fit(X, y)
    assert not np.array_equal(weighted.predict_proba(X), plain.predict_proba(X))


def test_class_weight_multiplies_sample_weight_and_reaches_multilabel():
    X, Y = make_multilabel_classification(n_samples=80, n_classes=3, random_state=0)
    s = np.linspace(0.5, 1.5, 80)
    clf = MLPClassifier(hidden_layer_sizes=(8,), max_iter=5, random_state=0)
    a = clone(clf).set_params(class_weight="balanced").fit(X, Y, sample_weight=s)
    b = clone(clf).fit(X, Y, sample_weight=s * compute_sample_weight("balanced", Y))
    np.testing.assert_array_equal(a.predict_proba(X), b.predict_proba(X))
    y = Y[:, 0]
    c = clone(clf).set_params(class_weight={0: 2.0, 1: 0.5}).fit(X, y, sample_weight=s)
    d = clone(clf).fit(X, y, sample_weight=s * np.where(y == 0, 2.0, 0.5))
    np.testing.assert_array_equal(c.predict_proba(X), d.predict_proba(X))


def test_class_weight_errors_name_the_problem(blobs):
    X, y, _, _ = blobs
    with pytest.raises(ValueError, match="class_weight"):
        MLPClassifier(class_weight={0: 1.0, 9: 2.0}, max_iter=2).fit(X, y)
    with pytest.raises(ValueError, match="partial_fit"):
        MLPClassifier(class_weight="balanced").partial_fit(X, y, classes=[0, 1, 2])
    clf = MLPClassifier(class_weight={0: 1.0, 1: 2.0, 2: 3.0}, max_iter=2, random_state=0)
    clf.partial_fit(X, y, classes=[0, 1, 2])  # a dict applies batch by batch
    assert clf.n_iter_ == 1


# ------------------------------------------------ every estimator, every feature
def _featured(name):
    params = {"weight_averaging": "ema", "averaging_start": 1, "averaging_decay": 0.9,
              "early_stopping": True, "scoring": "loss", "max_iter": 4}
    if name in CLASSIFIERS:
        params["class_weight"] = "balanced"
    if name == "MixtureDensityRegressor":
        params["solver"] = "adam"
    return FACTORIES[name](**params)


@pytest.mark.parametrize("name", SUPERVISED)
def test_new_parameters_clone_pickle_and_grid_search(name, tmp_path):
    skops_io = pytest.importorskip("skops.io")
    import skneural

    X, y = data(name, n=60)
    est = _featured(name)
    assert clone(est).get_params() == est.get_params()
    est.fit(X[:40], y[:40], X_val=X[40:], y_val=y[40:])
    predict = est.predict_proba if hasattr(est, "predict_proba") else est.predict
    loaded = pickle.loads(pickle.dumps(est))
    np.testing.assert_array_equal(predict(X), (loaded.predict_proba if hasattr(
        est, "predict_proba") else loaded.predict)(X))
    path = tmp_path / "est.skops"
    skops_io.dump(est, path)
    assert set(skops_io.get_untrusted_types(file=path)) <= set(skneural.TRUSTED_TYPES)
    loaded = skops_io.load(path, trusted=skneural.TRUSTED_TYPES)
    assert loaded.validation_loss_curve_ == est.validation_loss_curve_
    assert loaded.get_params() == est.get_params()
    grid = {"averaging_decay": [0.5, 0.9]}
    scoring = "neg_log_loss" if name in CLASSIFIERS else None  # continuous, unlike accuracy
    search = GridSearchCV(clone(est).set_params(early_stopping=False), grid, cv=2,
                          scoring=scoring).fit(X, y)
    assert search.best_estimator_.averaging_decay == search.best_params_["averaging_decay"]
    # the two decays average differently, so the candidates are different models
    scores = search.cv_results_["mean_test_score"]
    assert scores[0] != scores[1]
