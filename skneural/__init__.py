"""skneural: scikit-learn compatible neural-network estimators on PyTorch."""

from ._convnet import ConvNetClassifier
from ._gan import GANSampler
from ._gan_data import TabularEncoder
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
    "TRUSTED_TYPES",
]

#: The types an ``skops.io`` file of a fitted skneural estimator holds beyond
#: those skops trusts itself. Pass them to ``skops.io.load(path, trusted=...)``
#: after checking ``skops.io.get_untrusted_types(file=path)`` lists nothing
#: else. Estimators save their networks as arrays (see ``__getstate__``), so no
#: torch object is ever unpickled.
TRUSTED_TYPES = [
    f"{cls.__module__}.{cls.__qualname__}"
    for cls in (ConvNetClassifier, GANSampler, LSTMSequenceClassifier, MLPClassifier,
                MLPRegressor, MixtureDensityRegressor, TabularEncoder)
]
__version__ = "0.1.0"
