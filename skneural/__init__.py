"""skneural: scikit-learn compatible neural-network estimators on PyTorch."""

import sys

from ._convnet import ConvNetClassifier
from ._core.tabular import CategoricalCodes
from ._gan import GANSampler, TabularEncoder
from ._gan import encoder as _gan_encoder
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

_SAVED_TYPES = (ConvNetClassifier, GANSampler, LSTMSequenceClassifier, MLPClassifier,
                MLPRegressor, MixtureDensityRegressor, TabularEncoder, CategoricalCodes)

# Files saved before the estimators moved into per-family subpackages name
# their classes by the old flat modules. Each family package re-exports its
# classes (``skneural._mlp.MLPClassifier`` still resolves); the one old module
# that is no family's name resolves through this alias.
sys.modules.setdefault("skneural._gan_data", _gan_encoder)
_LEGACY_TYPES = [
    "skneural._convnet.ConvNetClassifier",
    "skneural._gan.GANSampler",
    "skneural._gan_data.TabularEncoder",
    "skneural._lstm.LSTMSequenceClassifier",
    "skneural._mlp.MLPClassifier",
    "skneural._mlp.MLPRegressor",
    "skneural._mdn.MixtureDensityRegressor",
]

#: The types an ``skops.io`` file of a fitted skneural estimator holds beyond
#: those skops trusts itself. Pass them to ``skops.io.load(path, trusted=...)``
#: after checking ``skops.io.get_untrusted_types(file=path)`` lists nothing
#: else. Estimators save their networks as arrays (see ``__getstate__``), so no
#: torch object is ever unpickled. The list names each class where it is
#: defined and, for files saved by skneural 0.1.0 before its modules moved, by
#: its former path too (the same classes).
TRUSTED_TYPES = [f"{cls.__module__}.{cls.__qualname__}" for cls in _SAVED_TYPES] + _LEGACY_TYPES
__version__ = "0.1.0"
