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
    # weight averaging (issue 22): the averages, with batch-norm statistics recomputed
    MLPClassifier(weight_averaging="swa", averaging_start=1, batch_norm=True, random_state=0),
    MLPRegressor(weight_averaging="ema", averaging_start=1, averaging_decay=0.9,
                 random_state=0),
    # solver="auto" is lbfgs here. With 5 components its line search amplifies the last
    # bits that differ between weighted and repeated rows into a different local optimum
    # after about 50 iterations (1 component, or the MLPs' lbfgs, stay equal at 200), so
    # the sample-weight checks get 20 iterations
    MixtureDensityRegressor(max_iter=20, random_state=0),
    MixtureDensityRegressor(component="generalized_normal", max_iter=20, random_state=0),
    # dropout draws different masks for weighted and for repeated rows (sample-weight
    # checks); 50 epochs, as before the step budget, keep the dozens of tiny fits quick
    ConvNetClassifier(dropout=0.0, max_iter=50, random_state=0, n_threads=1),
    # a small LSTM-FCN: sklearn's checks fit dozens of tiny data sets; one full batch (as
    # sklearn's min(200, n)) so that weighted and repeated rows take the same steps
    LSTMSequenceClassifier(hidden_size=8, conv_channels=(8,), batch_size=200, max_iter=60,
                           learning_rate_init=0.01, n_threads=1, random_state=0),
    GANSampler(generator_hidden_layer_sizes=(16,), discriminator_hidden_layer_sizes=(16,),
               latent_dim=4, max_iter=3, batch_size=32, n_threads=1, random_state=0),
]


@parametrize_with_checks(ESTIMATORS)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)
