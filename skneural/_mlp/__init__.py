"""Multi-layer perceptrons: MLPClassifier and MLPRegressor."""

from .estimator import MLPClassifier, MLPRegressor

__all__ = ["MLPClassifier", "MLPRegressor"]
