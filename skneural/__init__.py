"""skneural: scikit-learn compatible neural-network estimators on PyTorch."""

from ._mlp import MLPClassifier, MLPRegressor

__all__ = ["MLPClassifier", "MLPRegressor"]
__version__ = "0.1.0"
