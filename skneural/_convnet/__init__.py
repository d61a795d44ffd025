"""Convolutional networks: ConvNetClassifier."""

from .estimator import ConvNetClassifier

__all__ = ["ConvNetClassifier"]
