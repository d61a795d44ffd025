"""Small instances of every estimator, with data each can fit, shared by the test files."""

import copy

import numpy as np
import torch

from skneural import (
    ConvNetClassifier,
    GANSampler,
    LSTMSequenceClassifier,
    MixtureDensityRegressor,
    MLPClassifier,
    MLPRegressor,
)

FAST = dict(max_iter=3, n_threads=1, random_state=0)
SMALL = {
    MLPClassifier: dict(hidden_layer_sizes=(8,)),
    MLPRegressor: dict(hidden_layer_sizes=(8,)),
    # the MDN's default solver="auto" is lbfgs on small data: these tests step with adam
    MixtureDensityRegressor: dict(n_components=2, hidden_layer_sizes=(8,), solver="adam"),
    ConvNetClassifier: dict(filters=(4,), hidden_layer_sizes=(8,)),
    LSTMSequenceClassifier: dict(hidden_size=4, conv_channels=(4,)),  # LSTM-FCN, small
    GANSampler: dict(generator_hidden_layer_sizes=(8,), discriminator_hidden_layer_sizes=(8,),
                     latent_dim=2, batch_size=16),
}
FACTORIES = {cls.__name__: (lambda cls=cls, **kw: cls(**{**SMALL[cls], **FAST, **kw}))
             for cls in SMALL}
CLASSIFIERS = ["MLPClassifier", "ConvNetClassifier", "LSTMSequenceClassifier"]
SUPERVISED = [name for name in FACTORIES if name != "GANSampler"]


def data(name, n=40, n_features=6):
    rng = np.random.RandomState(0)
    X = rng.normal(size=(n, n_features))
    if name in CLASSIFIERS:
        y = (X[:, 0] > np.median(X[:, 0])).astype(int)
    elif name == "GANSampler":
        y = None
    else:
        y = X[:, 0] + 0.1 * rng.normal(size=n)
    return X, y


def fit(name, X, y, **kw):
    est = FACTORIES[name](**kw)
    return est.fit(X) if name == "GANSampler" else est.fit(X, y)


def record_validation_epochs(est):
    """Make ``est`` record each epoch's validation score with a copy of the weights it scored.

    The engine calls ``_validation_step`` once an epoch, right before it decides
    whether the epoch is the best so far; the recorded validation data are the
    held-out rows themselves (a ``ValidationSet``), whatever the split.
    """
    record = {"scores": [], "losses": [], "states": [], "val": None}
    step = est._validation_step

    def recording(module, val):
        loss, value = step(module, val)
        record["losses"].append(loss)
        record["scores"].append(value)
        record["states"].append({k: v.detach().clone() for k, v in module.state_dict().items()})
        record["val"] = val
        return loss, value

    est._validation_step = recording
    return record


def warm_oracle_fresh(cls, params, X, y):
    """Three one-epoch fits: a second ``warm_start`` fit, its oracle and a fresh fit.

    The oracle is a fit that starts from a copy of the first fit's weights
    (injected in place of the untrained network): the warm second fit must
    equal it, and differ from the fresh fit.
    """
    warm = cls(**params, warm_start=True).fit(X, y)
    start = copy.deepcopy(warm.module_)
    warm.fit(X, y)
    oracle = cls(**params)
    oracle._build_module = lambda *args: copy.deepcopy(start)  # starts at the first fit's end
    oracle.fit(X, y)
    return warm, oracle, cls(**params).fit(X, y)


def assert_restored_the_best_epoch(est, record):
    """The fit ran past its best epoch, and its final weights are that epoch's, not the last's."""
    scores = est.validation_scores_
    assert scores == record["scores"] and est.n_iter_ < est.max_iter
    best = scores.index(max(scores))  # the first epoch to reach it: improvements are strict
    assert est.best_validation_score_ == scores[best]
    assert scores[-1] < scores[best]  # it went on into worse epochs before stopping
    final = est.module_.state_dict()
    assert all(torch.equal(final[k], v) for k, v in record["states"][best].items())
    assert not all(torch.equal(final[k], v) for k, v in record["states"][-1].items())
    return best
