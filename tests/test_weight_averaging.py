"""Issue 22: weight averaging (SWA, EMA), checked against averages computed by hand.

A fit with ``max_iter=k`` follows the first ``k`` epochs of the same fit with
a larger ``max_iter`` (same seed, constant step size), so the weights at the
end of each epoch are those of plain fits of 1, 2, ... epochs; their average
by hand is the oracle.
"""

import copy

import numpy as np
import pytest
import torch
from sklearn.datasets import make_blobs
from sklearn.metrics import log_loss

from _estimators import record_validation_epochs
from skneural import MLPClassifier, MLPRegressor

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

BASE = dict(hidden_layer_sizes=(16,), learning_rate_init=0.05, random_state=0, n_threads=1)


@pytest.fixture
def blobs():
    X, y = make_blobs(n_samples=150, centers=3, cluster_std=2.0, random_state=0)
    return X, y


def epoch_weights(X, y, epochs, **params):
    """The parameters at the end of each of ``epochs`` of a plain fit."""
    return [{k: v.clone() for k, v in MLPClassifier(**BASE, **params, max_iter=k).fit(
        X, y).module_.named_parameters()} for k in epochs]


def with_weights(est, weights):
    """A copy of ``est`` whose network has the parameters ``weights``."""
    est = copy.deepcopy(est)
    with torch.no_grad():
        for name, p in est.module_.named_parameters():
            p.copy_(weights[name])
    return est


def test_swa_predicts_with_the_mean_of_the_epochs_weights(blobs):
    X, y = blobs
    swa = MLPClassifier(**BASE, batch_size=32, max_iter=6, weight_averaging="swa",
                        averaging_start=3).fit(X, y)
    weights = epoch_weights(X, y, range(3, 7), batch_size=32)
    mean = {k: torch.stack([w[k] for w in weights]).mean(0) for k in weights[0]}
    oracle = with_weights(swa, mean)
    np.testing.assert_allclose(swa.predict_proba(X), oracle.predict_proba(X), rtol=1e-10)
    last = with_weights(swa, weights[-1])  # and not the last epoch's weights
    assert np.abs(swa.predict_proba(X) - last.predict_proba(X)).max() > 1e-3
    # a float start is a share of max_iter: 0.5 of 6 epochs is the same start
    half = MLPClassifier(**BASE, batch_size=32, max_iter=6, weight_averaging="swa",
                         averaging_start=0.5).fit(X, y)
    np.testing.assert_array_equal(half.predict_proba(X), swa.predict_proba(X))


def test_ema_predicts_with_the_moving_average_of_the_steps(blobs):
    X, y = blobs
    decay = 0.6
    # one batch an epoch: each step's weights are an epoch's
    ema = MLPClassifier(**BASE, batch_size=150, max_iter=6, weight_averaging="ema",
                        averaging_start=2, averaging_decay=decay).fit(X, y)
    weights = epoch_weights(X, y, range(2, 7), batch_size=150)
    average = weights[0]
    for w in weights[1:]:
        average = {k: decay * average[k] + (1 - decay) * w[k] for k in w}
    oracle = with_weights(ema, average)
    np.testing.assert_allclose(ema.predict_proba(X), oracle.predict_proba(X), rtol=1e-10)


def test_swa_recomputes_batch_norm_statistics_for_the_averaged_weights(blobs):
    X, y = blobs
    swa = MLPClassifier(**BASE, batch_norm=True, batch_size=150, max_iter=5,
                        weight_averaging="swa", averaging_start=2).fit(X, y)
    # one batch: the running statistics are that batch's moments of the first affine
    # map's outputs under the averaged weights (the variance unbiased, as torch's)
    layer = swa.module_.linear_layers()[0]
    with torch.no_grad():
        h = torch.as_tensor(X) @ layer.weight.T + layer.bias
    norm = next(m for m in swa.module_.modules() if isinstance(m, torch.nn.BatchNorm1d))
    np.testing.assert_allclose(norm.running_mean, h.mean(0), rtol=1e-10)
    np.testing.assert_allclose(norm.running_var, h.var(0, unbiased=True), rtol=1e-10)


def test_early_stopping_compares_and_restores_the_averaged_weights(blobs):
    X, y = blobs
    X_val, y_val = X[120:], y[120:]
    params = dict(**BASE, batch_size=30, max_iter=30, early_stopping=True,
                  n_iter_no_change=3, scoring="loss")
    swa = MLPClassifier(**params, weight_averaging="swa", averaging_start=2)
    record = record_validation_epochs(swa)
    swa.fit(X[:120], y[:120], X_val=X_val, y_val=y_val)
    # the network scored after epoch 3 is the mean of epoch 2's and epoch 3's weights
    # (given X_val, all 120 rows train, as in the plain fits)
    weights = epoch_weights(X[:120], y[:120], (1, 2, 3), batch_size=30)
    mean = {k: (weights[1][k] + weights[2][k]) / 2 for k in weights[0]}
    for k, v in mean.items():
        torch.testing.assert_close(record["states"][2][k], v, rtol=1e-10, atol=1e-12)
    for k, v in weights[0].items():  # before the start, the trained weights themselves
        torch.testing.assert_close(record["states"][0][k], v, rtol=1e-10, atol=1e-12)
    # the restored weights are the best scored ones: their loss on X_val is the record's
    best = int(np.argmax(swa.validation_scores_))
    assert best >= 1  # an averaged epoch won
    assert swa.validation_loss_curve_[best] == pytest.approx(
        log_loss(y_val, swa.predict_proba(X_val)), rel=1e-10)


def test_weight_averaging_is_refused_where_there_are_no_epochs(blobs):
    X, y = blobs
    with pytest.raises(ValueError, match="weight_averaging"):
        MLPClassifier(solver="lbfgs", weight_averaging="swa").fit(X, y)
    # partial_fit keeps no average: it is not offered (as sklearn's MLP with lbfgs)
    ema = MLPClassifier(weight_averaging="ema")
    assert not hasattr(ema, "partial_fit") and hasattr(MLPClassifier(), "partial_fit")
    with pytest.raises(AttributeError, match="partial_fit"):
        ema.partial_fit(X, y, classes=[0, 1, 2])
    # solver="auto" picks a stochastic solver for it
    reg = MLPRegressor(solver="auto", weight_averaging="swa", max_iter=3).fit(X, y)
    assert reg.solver_ == "adam"
