"""LSTMSequenceClassifier: sklearn's checks, padding invisibility, clipping, variants."""

import numpy as np
import pytest
import torch
from sklearn.utils.estimator_checks import parametrize_with_checks

from skneural._lstm import LSTMSequenceClassifier


# small and fast: sklearn fits dozens of tiny data sets; learning_rate_init=0.01 lets
# 60 epochs reach the accuracy check_classifiers_train asks for
@parametrize_with_checks([LSTMSequenceClassifier(hidden_size=8, max_iter=60, learning_rate_init=0.01,
                                                 n_threads=1, random_state=0)])
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)
