"""Every classifier inside ``CalibratedClassifierCV``, and calibration repairing over-confidence.

``CalibratedClassifierCV`` only indexes ``X`` (it validates nothing itself),
so images, 3-D sequence arrays and lists of variable-length sequences reach
the skneural estimator as given. The networks here are over-confident on
purpose: trained long, without regularization, on labels with noise, they
fit the training rows almost exactly and give held-out rows probabilities
near 0 and 1, a held-out log-loss worse than predicting 1/2. Calibration on
rows the network did not train on must bring it down.
"""

import numpy as np
import pytest
import sklearn
from sklearn.calibration import CalibratedClassifierCV
from sklearn.datasets import load_digits, make_classification
from sklearn.frozen import FrozenEstimator
from sklearn.metrics import log_loss

from skneural import ConvNetClassifier, LSTMSequenceClassifier, MLPClassifier

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

# method="temperature" (one scale for all logits) is new in scikit-learn 1.8
HAS_TEMPERATURE = tuple(int(p) for p in sklearn.__version__.split(".")[:2]) >= (1, 8)
NEEDS_TEMPERATURE = pytest.mark.skipif(not HAS_TEMPERATURE,
                                       reason="method='temperature' needs scikit-learn >= 1.8")
METHODS = ["sigmoid", "isotonic", pytest.param("temperature", marks=NEEDS_TEMPERATURE)]
FAST = {"max_iter": 3, "batch_size": 40, "n_threads": 1, "random_state": 0}


def network_methods(name, methods=("sigmoid", "isotonic", "temperature")):
    """``(name, method)`` test cases, temperature skipped where sklearn lacks it."""
    return [pytest.param(name, m, id=f"{name}-{m}",
                         marks=[NEEDS_TEMPERATURE] if m == "temperature" else [])
            for m in methods]


def ragged_sequences(n, seed, flip=0.0):
    """Sequences of 3 to 11 steps; the label is the sign of feature 0's sum, a share flipped."""
    rng = np.random.RandomState(seed)
    X = [rng.randn(rng.randint(3, 12), 2) for _ in range(n)]
    y = np.array(["pos" if x[:, 0].sum() > 0 else "neg" for x in X])
    flipped = rng.rand(n) < flip
    y[flipped] = np.where(y[flipped] == "pos", "neg", "pos")
    return X, y


def small_case(name):
    """(estimator, X, y) for a quick fit, one per input layout (string or integer labels)."""
    rng = np.random.RandomState(0)
    if name == "mlp-rows":
        X, y = make_classification(n_samples=90, n_features=6, n_informative=4, n_classes=3,
                                   random_state=0)
        return MLPClassifier(hidden_layer_sizes=(8,), **FAST), X, np.array(list("abc"))[y]
    if name == "convnet-images":  # (n, 8, 8) grayscale digits 0, 1, 2
        X, y = load_digits(n_class=3, return_X_y=True)
        return (ConvNetClassifier(filters=(4,), hidden_layer_sizes=(8,), **FAST),
                X[:90].reshape(-1, 8, 8) / 16, y[:90])
    if name == "lstm-3d":  # (n, T, F)
        X = rng.randn(60, 6, 2)
        return (LSTMSequenceClassifier(hidden_size=4, conv_channels=None, summary="last", **FAST),
                X, (X[:, :, 0].sum(axis=1) > 0).astype(int))
    X, y = ragged_sequences(60, seed=0)
    return (LSTMSequenceClassifier(hidden_size=4, conv_channels=None, summary="last", **FAST),
            X, y)


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("name", ["mlp-rows", "convnet-images", "lstm-3d", "lstm-ragged"])
def test_calibrated_classifier_fits_every_input_layout(name, method):
    est, X, y = small_case(name)
    calibrated = CalibratedClassifierCV(est, method=method, cv=3).fit(X, y)
    assert len(calibrated.calibrated_classifiers_) == 3
    np.testing.assert_array_equal(calibrated.classes_, np.unique(y))
    proba = calibrated.predict_proba(X)
    assert proba.shape == (len(X), len(np.unique(y)))
    assert proba.min() >= 0 and proba.max() <= 1
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    np.testing.assert_array_equal(calibrated.predict(X), calibrated.classes_[proba.argmax(axis=1)])


def test_calibration_without_ensemble_refits_on_all_sequences():
    """``ensemble=False``: out-of-fold probabilities by ``cross_val_predict``, one refit."""
    est, X, y = small_case("lstm-ragged")
    calibrated = CalibratedClassifierCV(est, method="sigmoid", cv=3, ensemble=False).fit(X, y)
    (pair,) = calibrated.calibrated_classifiers_
    np.testing.assert_array_equal(pair.estimator.predict_proba(X), est.fit(X, y).predict_proba(X))
    longer, _ = ragged_sequences(5, seed=1)  # new lengths at predict time
    np.testing.assert_allclose(calibrated.predict_proba(longer).sum(axis=1), 1.0)


# ------------------------------------------------------------- over-confidence
def noisy_rows():
    """A noisy binary problem (20% of the labels random) split into train/calibrate/test."""
    X, y = make_classification(n_samples=900, n_features=20, n_informative=5, flip_y=0.2,
                               random_state=0)
    return X[:300], y[:300], X[300:600], y[300:600], X[600:], y[600:]


def overconfident_mlp():
    return MLPClassifier(hidden_layer_sizes=(64,), alpha=0.0, learning_rate_init=0.01,
                         max_iter=150, n_iter_no_change=150, n_threads=1, random_state=0)


def noisy_images():
    """8x8 noise images; the label is whether the centre is brighter than 1/2 (plus noise)."""
    rng = np.random.RandomState(0)
    X = rng.rand(900, 8, 8)
    y = (X[:, 2:6, 2:6].mean(axis=(1, 2)) + 0.05 * rng.randn(900) > 0.5).astype(int)
    return X[:300], y[:300], X[300:600], y[300:600], X[600:], y[600:]


def noisy_sequences():
    """Ragged sequences, a quarter of the labels flipped: few training rows to memorize."""
    X, y = ragged_sequences(700, seed=0, flip=0.25)
    return X[:150], y[:150], X[150:400], y[150:400], X[400:], y[400:]


NETWORKS = {
    "mlp": (overconfident_mlp, noisy_rows),
    # no dropout, batch norm or augmentation: the defaults would regularize
    "convnet": (lambda: ConvNetClassifier(
        filters=(4,), hidden_layer_sizes=(64,), dropout=0.0, normalization=None, shift=0,
        rotation=0.0, scale=0.0, alpha=0.0, learning_rate="constant", learning_rate_init=0.02,
        batch_size=300, max_iter=120, n_iter_no_change=120, n_threads=1, random_state=0),
        noisy_images),
    "lstm": (lambda: LSTMSequenceClassifier(
        hidden_size=16, conv_channels=None, summary="last", alpha=0.0, learning_rate="constant",
        learning_rate_init=0.02, batch_size=150, max_iter=100, n_iter_no_change=100,
        n_threads=1, random_state=0), noisy_sequences),
}


@pytest.fixture(scope="module")
def fitted():
    """Each over-confident network fitted once on its training rows, with its splits."""
    cache = {}

    def get(name):
        if name not in cache:
            make, split = NETWORKS[name]
            X_train, y_train, *held_out = split()
            cache[name] = (make().fit(X_train, y_train), X_train, y_train, *held_out)
        return cache[name]

    return get


@pytest.mark.parametrize("name, method", [
    *network_methods("mlp"), *network_methods("convnet"),
    # isotonic's step function, fitted on 250 calibration rows, puts exact 0s and 1s on
    # some test sequences: it lowers this log-loss too, but by a margin too thin to assert
    *network_methods("lstm", ("sigmoid", "temperature")),
])
def test_calibration_on_held_out_rows_lowers_an_overconfident_networks_log_loss(
        fitted, name, method):
    raw, X_train, y_train, X_cal, y_cal, X_test, y_test = fitted(name)
    raw_loss = log_loss(y_test, raw.predict_proba(X_test))
    assert log_loss(y_train, raw.predict_proba(X_train)) < 0.2  # it fits its training rows
    assert raw_loss > np.log(2)  # ... and is worse than a coin on new ones: over-confident
    calibrated = CalibratedClassifierCV(FrozenEstimator(raw), method=method).fit(X_cal, y_cal)
    assert log_loss(y_test, calibrated.predict_proba(X_test)) < 0.8 * raw_loss
    if method == "temperature":  # one positive scale of the logits: the same decisions
        np.testing.assert_array_equal(calibrated.predict(X_test), raw.predict(X_test))


@pytest.mark.parametrize("method", METHODS)
def test_cross_validated_calibration_lowers_an_overconfident_mlps_log_loss(fitted, method):
    """``cv=3, ensemble=False``: the network refit on all rows plus a calibrator of its
    out-of-fold probabilities, so the difference to the raw network is the calibrator alone."""
    raw, X_train, y_train, _, _, X_test, y_test = fitted("mlp")
    calibrated = CalibratedClassifierCV(overconfident_mlp(), method=method, cv=3,
                                        ensemble=False).fit(X_train, y_train)
    np.testing.assert_array_equal(calibrated.calibrated_classifiers_[0].estimator.coefs_[0],
                                  raw.coefs_[0])
    raw_loss = log_loss(y_test, raw.predict_proba(X_test))
    assert raw_loss > np.log(2)
    assert log_loss(y_test, calibrated.predict_proba(X_test)) < 0.8 * raw_loss
