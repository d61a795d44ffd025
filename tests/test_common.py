"""sklearn's own estimator checks, run on every skneural estimator."""

from sklearn.utils.estimator_checks import parametrize_with_checks

from skneural import (
    ConvNetClassifier,
    GANSampler,
    LSTMSequenceClassifier,
    MixtureDensityRegressor,
    MLPClassifier,
    MLPRegressor,
)

ESTIMATORS = [
    MLPClassifier(random_state=0),
    MLPRegressor(random_state=0),
    # batch norm with sample-weighted batch statistics passes the sample-weight checks too
    MLPClassifier(batch_norm=True, random_state=0),
    MLPRegressor(batch_norm=True, random_state=0),
    MixtureDensityRegressor(random_state=0),
    ConvNetClassifier(random_state=0, n_threads=1),
    # a small network: sklearn's checks fit dozens of tiny data sets
    LSTMSequenceClassifier(hidden_size=8, max_iter=60, learning_rate_init=0.01, n_threads=1,
                           random_state=0),
    GANSampler(generator_hidden_layer_sizes=(16,), discriminator_hidden_layer_sizes=(16,),
               latent_dim=4, max_iter=3, batch_size=32, n_threads=1, random_state=0),
]


@parametrize_with_checks(ESTIMATORS)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)
