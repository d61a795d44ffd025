"""skneural: scikit-learn compatible neural-network estimators on PyTorch."""

from ._convnet import ConvNetClassifier
from ._gan import GANSampler
from ._lstm import LSTMSequenceClassifier
from ._mdn import MixtureDensityRegressor, log_likelihood_scorer
from ._mlp import MLPClassifier, MLPRegressor

__all__ = [
    "ConvNetClassifier",
    "GANSampler",
    "LSTMSequenceClassifier",
    "MLPClassifier",
    "MLPRegressor",
    "MixtureDensityRegressor",
    "log_likelihood_scorer",
]
__version__ = "0.1.0"
