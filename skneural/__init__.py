"""skneural: scikit-learn compatible neural-network estimators on PyTorch."""

from ._lstm import LSTMSequenceClassifier
from ._mlp import MLPClassifier, MLPRegressor

__all__ = [
    "LSTMSequenceClassifier",
    "MLPClassifier",
    "MLPRegressor",
]
__version__ = "0.1.0"
