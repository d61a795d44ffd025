"""ConvNetClassifier: sklearn's checks, shapes, augmentation, receptive fields, persistence."""

import pytest
from sklearn.utils.estimator_checks import parametrize_with_checks

from skneural._convnet import ConvNetClassifier


@parametrize_with_checks([ConvNetClassifier(random_state=0, n_threads=1)])
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)
