"""Recurrent networks on sequences: LSTMSequenceClassifier."""

from .estimator import LSTMSequenceClassifier

__all__ = ["LSTMSequenceClassifier"]
