"""sklearn's own estimator checks, run on every skneural estimator."""

from sklearn.utils.estimator_checks import parametrize_with_checks

from skneural import MLPClassifier, MLPRegressor

ESTIMATORS = [
    MLPClassifier(random_state=0),
    MLPRegressor(random_state=0),
]


@parametrize_with_checks(ESTIMATORS)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)
