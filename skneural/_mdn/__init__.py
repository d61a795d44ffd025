"""Mixture density networks: MixtureDensityRegressor and its likelihood scorer."""

from .estimator import MixtureDensityRegressor
from .scoring import log_likelihood_scorer

__all__ = ["MixtureDensityRegressor", "log_likelihood_scorer"]
