"""Small instances of every estimator, with data each can fit, shared by the test files."""

import numpy as np

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
    MixtureDensityRegressor: dict(n_components=2, hidden_layer_sizes=(8,)),
    ConvNetClassifier: dict(filters=(4,), hidden_layer_sizes=(8,)),
    LSTMSequenceClassifier: dict(hidden_size=4),
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
