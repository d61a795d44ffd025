"""Each parameter does what its docstring says, on every estimator and solver (issue 18).

One test per defect found when the parameters were tried as a user would:
each of these failed before its fix. The mechanical sweep over every
parameter is ``test_contract.py``.
"""

import pickle

import numpy as np
import pytest
import torch
from sklearn.model_selection import train_test_split
from sklearn.utils import check_random_state

from skneural import (
    ConvNetClassifier,
    LSTMSequenceClassifier,
    MixtureDensityRegressor,
    MLPClassifier,
    MLPRegressor,
)
from skneural._core.networks import WeightedBatchNorm1d
from skneural._core.optimizers import ADADELTA_LR_SCALE, make_optimizer
from skneural._core.regularizers import (
    GaussianMixturePrior,
    jacobian_norm,
    tangent_propagation,
)
from skneural.utils import input_jacobian

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


@pytest.fixture
def data():
    rng = np.random.RandomState(0)
    X = rng.normal(size=(201, 5))
    y = (X[:, 0] + 0.5 * X[:, 1] > 0).astype(int)
    return X, y


# ------------------------------------------------------------------ batch norm
@pytest.mark.parametrize("Estimator", [MLPClassifier, MixtureDensityRegressor])
def test_batch_norm_fits_when_the_last_batch_has_one_row(data, Estimator):
    X, y = data  # 201 rows: the default batch of 200 leaves one row
    est = Estimator(hidden_layer_sizes=(8,), batch_norm=True, max_iter=3, random_state=0)
    est.fit(X, y if Estimator is MLPClassifier else X[:, 0])
    assert est.n_iter_ == 3
    est.partial_fit(X[:3], y[:3] if Estimator is MLPClassifier else X[:3, 0])  # 3 rows: 2 + 1


def test_batch_norm_refuses_one_row_batches_by_name(data):
    X, y = data
    with pytest.raises(ValueError, match="batch_size=1"):
        MLPClassifier(batch_norm=True, batch_size=1, max_iter=1).fit(X, y)
    with pytest.raises(ValueError, match="1 sample"):
        MLPClassifier(batch_norm=True).partial_fit(X[:1], y[:1], classes=[0, 1])


def test_weighted_batch_norm_matches_repeated_rows():
    """Batch statistics with integer weights are those of the repeated rows (oracle: torch)."""
    torch.manual_seed(0)
    x = torch.randn(6, 4, dtype=torch.float64)
    w = torch.tensor([1.0, 2.0, 0.0, 3.0, 1.0, 1.0], dtype=torch.float64)
    repeated = x.repeat_interleave(w.long(), dim=0)
    ours = WeightedBatchNorm1d(4).double().train()
    plain = torch.nn.BatchNorm1d(4).double().train()
    ours.sample_weight = w
    out, ref = ours(x), plain(repeated)
    np.testing.assert_allclose(out.detach()[w > 0].repeat_interleave(w[w > 0].long(), dim=0),
                               ref.detach(), atol=1e-12)
    np.testing.assert_allclose(ours.running_mean, plain.running_mean, atol=1e-12)
    np.testing.assert_allclose(ours.running_var, plain.running_var, atol=1e-12)


def test_weighted_batch_norm_without_weights_is_torch_batch_norm():
    torch.manual_seed(0)
    x = torch.randn(8, 3, 5, 5)
    ours, plain = WeightedBatchNorm1d(3), torch.nn.BatchNorm2d(3)
    from skneural._core.networks import WeightedBatchNorm2d
    ours = WeightedBatchNorm2d(3)
    ours.update_stats = False  # the weighted code path, without weights
    np.testing.assert_allclose(ours(x).detach(), plain(x).detach(), atol=1e-5)
    assert int(ours.num_batches_tracked) == 0 and torch.all(ours.running_mean == 0)


def test_zero_weight_rows_are_absent_rows(data):
    """Weight 0 is removal: batches, batch-norm statistics and shuffles are those without the rows."""
    X, y = data
    w = np.where(np.arange(len(y)) % 3 == 0, 0.0, 1.0)
    kw = dict(hidden_layer_sizes=(8,), batch_norm=True, max_iter=5, random_state=0)
    weighted = MLPClassifier(**kw).fit(X, y, sample_weight=w)
    removed = MLPClassifier(**kw).fit(X[w > 0], y[w > 0])
    np.testing.assert_allclose(weighted.predict_proba(X), removed.predict_proba(X), atol=1e-6)
    with pytest.raises(ValueError, match="non-zero|zero for every sample"):
        MLPClassifier(max_iter=1).fit(X, y, sample_weight=np.zeros(len(y)))


def test_extra_training_passes_leave_running_statistics_alone(data):
    """FGSM and the Jacobian penalty normalize their extra passes but update statistics once."""
    X, y = data
    for extra in ({"adversarial": 0.5}, {"jacobian_penalty": 0.1}):
        clf = MLPClassifier(hidden_layer_sizes=(8,), batch_norm=True, batch_size=50, max_iter=2,
                            random_state=0, **extra).fit(X, y)
        norm = clf.module_.hidden[0][1]
        assert int(norm.num_batches_tracked) == clf.n_iter_ * 4, extra  # 4 batches an epoch


def test_lbfgs_batch_norm_statistics_are_the_full_batch_at_the_final_weights(data):
    X, y = data
    clf = MLPClassifier(hidden_layer_sizes=(8,), batch_norm=True, solver="lbfgs", max_iter=30,
                        random_state=0).fit(X, y)
    linear, norm = clf.module_.hidden[0][0], clf.module_.hidden[0][1]
    z = linear(torch.as_tensor(X)).detach()
    np.testing.assert_allclose(norm.running_mean, z.mean(0), atol=1e-10)
    np.testing.assert_allclose(norm.running_var, z.var(0, unbiased=True), atol=1e-10)


# ----------------------------------------------------------------- mc_dropout
def test_mc_dropout_log_proba_is_the_log_of_proba(data):
    X, y = data
    clf = MLPClassifier(hidden_layer_sizes=(16,), dropout=0.3, mc_dropout=8, max_iter=5,
                        random_state=0).fit(X, y)
    np.testing.assert_allclose(clf.predict_log_proba(X[:10]), np.log(clf.predict_proba(X[:10])),
                               rtol=1e-10)
    single = clf.set_params(mc_dropout=0).predict_log_proba(X[:10])
    assert not np.allclose(single, clf.set_params(mc_dropout=8).predict_log_proba(X[:10]))


def test_mc_dropout_reaches_every_method_of_the_mdn(data):
    X, _ = data
    y = X[:, 0] + 0.1 * X[:, 1]
    mdn = MixtureDensityRegressor(hidden_layer_sizes=(16,), n_components=2, dropout=0.3,
                                  max_iter=5, random_state=0).fit(X, y)
    plain = (mdn.predict(X[:5]), mdn.log_likelihood(X[:5], y[:5]))
    mdn.set_params(mc_dropout=4)
    weights, means, _ = mdn.predict_mixture(X[:5])
    assert weights.shape == (5, 2 * 4)  # the passes' components pooled, as members are
    np.testing.assert_allclose(weights.sum(axis=1), 1.0)
    assert not np.allclose(mdn.predict(X[:5]), plain[0])
    assert not np.allclose(mdn.log_likelihood(X[:5], y[:5]), plain[1])
    np.testing.assert_allclose(mdn.predict(X[:5]), mdn.predict(X[:5]))  # seeded passes


def test_mc_dropout_switches_on_the_convnets_spatial_dropout():
    rng = np.random.RandomState(0)
    X, y = rng.normal(size=(60, 16)), rng.randint(0, 2, 60)
    clf = ConvNetClassifier(input_shape=(4, 4), filters=(4,), hidden_layer_sizes=(8,),
                            spatial_dropout=0.5, max_iter=2, random_state=0).fit(X, y)
    plain = clf.predict_proba(X)
    assert not np.allclose(clf.set_params(mc_dropout=5).predict_proba(X), plain)


def test_mc_dropout_without_dropout_is_refused(data):
    X, y = data
    with pytest.raises(ValueError, match="mc_dropout=3"):
        MLPClassifier(mc_dropout=3, max_iter=1).fit(X, y)
    clf = MLPClassifier(max_iter=1).fit(X, y).set_params(mc_dropout=3)
    with pytest.raises(ValueError, match="no dropout layer"):
        clf.predict(X)


# ---------------------------------------------------------------------- lbfgs
@pytest.mark.parametrize("name, value", [
    ("dropout", 0.2), ("input_noise", 0.1), ("weight_noise", 0.01), ("dropconnect", 0.2),
    ("adversarial", 0.5), ("penalty_start_epoch", 3),
])
def test_lbfgs_refuses_random_objectives_and_epoch_counts(data, name, value):
    X, y = data
    with pytest.raises(ValueError, match=f"{name}={value}"):
        MLPClassifier(solver="lbfgs", max_iter=5, **{name: value}).fit(X, y)


def test_lbfgs_refuses_the_lstm_and_convnet_dropouts():
    rng = np.random.RandomState(0)
    X, y = rng.normal(size=(30, 16)), rng.randint(0, 2, 30)
    with pytest.raises(ValueError, match="spatial_dropout"):
        ConvNetClassifier(input_shape=(4, 4), filters=(2,), spatial_dropout=0.2, dropout=0.0,
                          solver="lbfgs").fit(X, y)
    with pytest.raises(ValueError, match="dropout"):
        LSTMSequenceClassifier(hidden_size=4, dropout=0.2, solver="lbfgs").fit(
            X.reshape(30, 8, 2), y)


# ----------------------------------------------------------------- optimizers
def test_penalty_start_epoch_delays_adamws_decoupled_decay(data):
    X, y = data
    kw = dict(hidden_layer_sizes=(8,), solver="adamw", max_iter=4, random_state=0)
    delayed = MLPClassifier(alpha=10.0, penalty_start_epoch=4, **kw).fit(X, y)
    never = MLPClassifier(alpha=0.0, **kw).fit(X, y)
    now = MLPClassifier(alpha=10.0, **kw).fit(X, y)
    np.testing.assert_allclose(delayed.coefs_[0], never.coefs_[0], atol=1e-12)
    assert not np.allclose(now.coefs_[0], never.coefs_[0])


def test_rmsprop_takes_momentum_from_momentum_alone(data):
    X, y = data
    for nesterov in (True, False):
        clf = MLPClassifier(solver="rmsprop", momentum=0.5, nesterovs_momentum=nesterov,
                            max_iter=1).fit(X, y)
        assert make_optimizer(clf, clf.module_).param_groups[0]["momentum"] == 0.5


def test_adadelta_step_scale_is_documented(data):
    X, y = data
    clf = MLPClassifier(solver="adadelta", learning_rate_init=0.002, max_iter=1).fit(X, y)
    assert make_optimizer(clf, clf.module_).param_groups[0]["lr"] == 0.002 * ADADELTA_LR_SCALE
    assert "1000 * learning_rate_init" in " ".join(MLPClassifier.__doc__.split())


# -------------------------------------------------------------------- devices
def test_a_gpu_fit_continues_on_a_cpu_only_machine(data):
    X, y = data
    clf = MLPClassifier(hidden_layer_sizes=(8,), max_iter=2, random_state=0).fit(X, y)
    clf.partial_fit(X, y)
    state = pickle.loads(pickle.dumps(clf)).__getstate__()
    state["device_"] = "cuda:0"  # what a GPU fit pickles, loaded where CUDA is absent
    if torch.cuda.is_available():
        pytest.skip("needs a machine without CUDA")
    loaded = MLPClassifier.__new__(MLPClassifier)
    loaded.__setstate__(state)
    np.testing.assert_allclose(loaded.predict_proba(X), clf.predict_proba(X))
    with pytest.warns(UserWarning, match="continues on 'cpu'"):
        loaded.partial_fit(X, y)
    assert loaded.device_ == "cpu"
    loaded.set_params(warm_start=True).fit(X, y)
    assert loaded.n_iter_ >= 1


# ------------------------------------------------------------- sample weights
def test_input_penalties_weigh_rows_as_repeated_rows():
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(3, 5), torch.nn.Tanh(), torch.nn.Linear(5, 2))
    x = torch.randn(4, 3)
    w = torch.tensor([1.0, 3.0, 0.0, 2.0])
    repeated = x.repeat_interleave(w.long(), dim=0)
    torch.testing.assert_close(jacobian_norm(net, (x,), w), jacobian_norm(net, (repeated,)))
    tau = torch.randn(4, 3)
    torch.testing.assert_close(tangent_propagation(net, (x,), tau, w),
                               tangent_propagation(net, (repeated,),
                                                   tau.repeat_interleave(w.long(), dim=0)))


def test_the_epoch_loss_weighs_batches_by_their_weight(data):
    """With weights, ``loss_`` is the weighted mean over all rows, not over batches' row counts."""
    X, y = data
    w = np.where(np.arange(len(y)) < 100, 5.0, 1.0)  # the first batch weighs more
    clf = MLPClassifier(hidden_layer_sizes=(8,), alpha=0.0, learning_rate_init=1e-12,
                        shuffle=False, batch_size=100, max_iter=1, random_state=0)
    clf.fit(X, y, sample_weight=w)
    p = clf.predict_proba(X)[:, 1]
    per_row = -(y * np.log(p) + (1 - y) * np.log(1 - p))
    np.testing.assert_allclose(clf.loss_, np.average(per_row, weights=w), rtol=1e-6)


def _validation_split(n, random_state=0, fraction=0.1, stratify=None):
    rng = check_random_state(random_state)
    rng.randint(np.iinfo(np.int32).max)  # the fit's torch seed is drawn first
    return train_test_split(np.arange(n), test_size=fraction, random_state=rng,
                            stratify=stratify)


def test_scaling_statistics_come_from_the_training_rows_only(data):
    X, _ = data
    y = 100 * X[:, 0] + 50
    train_idx, _ = _validation_split(len(y))
    reg = MLPRegressor(hidden_layer_sizes=(4,), early_stopping=True, max_iter=2,
                       random_state=0).fit(X, y)
    np.testing.assert_allclose(reg._y_mean, [y[train_idx].mean()])
    np.testing.assert_allclose(reg._y_scale, [y[train_idx].std()])
    mdn = MixtureDensityRegressor(hidden_layer_sizes=(4,), early_stopping=True, max_iter=2,
                                  random_state=0).fit(X, y)
    np.testing.assert_allclose(mdn._y_mean, [y[train_idx].mean()])

    rng = np.random.RandomState(1)
    Xs = rng.normal(size=(60, 5, 2)) * 3 + 7
    ys = rng.randint(0, 2, 60)
    train_idx, _ = _validation_split(60, stratify=ys)
    lstm = LSTMSequenceClassifier(hidden_size=4, early_stopping=True, max_iter=2,
                                  random_state=0).fit(Xs, ys)
    np.testing.assert_allclose(lstm._x_mean, Xs[train_idx].mean(axis=(0, 1)), rtol=1e-6)


# ----------------------------------------------------------------- utilities
def _central_difference(est, X, index, eps=1e-5):
    plus, minus = X.copy(), X.copy()
    plus[index] += eps
    minus[index] -= eps
    raw = lambda A: est._raw_output(est._validate_X(A, reset=False)).numpy()  # noqa: E731
    return (raw(plus) - raw(minus)) / (2 * eps)


def test_input_jacobian_of_the_convnet_and_the_lstm_matches_central_differences():
    rng = np.random.RandomState(0)
    X, y = rng.normal(size=(40, 16)), rng.randint(0, 3, 40)
    conv = ConvNetClassifier(input_shape=(4, 4), filters=(4,), hidden_layer_sizes=(8,),
                             max_iter=2, random_state=0).fit(X, y)
    J = input_jacobian(conv, X[:3])
    assert J.shape == (3, 3, 16)
    np.testing.assert_allclose(J[:, :, 5], _central_difference(conv, X[:3], (slice(None), 5)),
                               atol=1e-7)
    Xs = rng.normal(size=(40, 6, 2)) * 2 + 1
    lstm = LSTMSequenceClassifier(hidden_size=4, max_iter=2, random_state=0).fit(Xs, y)
    J = input_jacobian(lstm, Xs[:3])
    assert J.shape == (3, 3, 6, 2)
    np.testing.assert_allclose(J[:, :, 2, 1],
                               _central_difference(lstm, Xs[:3], (slice(None), 2, 1)), atol=1e-7)


def test_soft_weight_sharing_is_bounded_below_when_a_variance_collapses():
    torch.manual_seed(0)
    weights = [torch.randn(20, 5)]
    prior = GaussianMixturePrior(3, weights)
    at_start = float(prior(weights).detach())
    with torch.no_grad():  # one component shrinks onto a single weight
        prior.means[0] = weights[0][0, 0]
        prior.log_sigmas[0] = -20.0
    collapsed = float(prior(weights).detach())
    assert np.isfinite(collapsed) and collapsed > at_start


def test_lstm_batch_norm_statistics_count_rows_by_weight():
    """The LSTM's conv front end (batch norm, and its final "precise BN" pass) weighs rows too."""
    rng = np.random.RandomState(0)
    X, y = rng.normal(size=(40, 6, 2)), rng.randint(0, 2, 40)
    w = np.where(np.arange(40) % 4 == 0, 0.0, 1.0)
    kw = dict(hidden_size=4, conv_channels=(3,), max_iter=3, random_state=0)
    weighted = LSTMSequenceClassifier(**kw).fit(X, y, sample_weight=w)
    removed = LSTMSequenceClassifier(**kw).fit(X[w > 0], y[w > 0])
    norm_w, norm_r = weighted.module_.conv.norms[0], removed.module_.conv.norms[0]
    np.testing.assert_allclose(norm_w.running_mean, norm_r.running_mean, atol=1e-6)
    np.testing.assert_allclose(norm_w.running_var, norm_r.running_var, atol=1e-6)
    np.testing.assert_allclose(weighted.predict_proba(X), removed.predict_proba(X), atol=1e-6)


def test_a_gpu_gan_continues_on_a_cpu_only_machine():
    from skneural import GANSampler

    if torch.cuda.is_available():
        pytest.skip("needs a machine without CUDA")
    X = np.random.RandomState(0).normal(size=(64, 2))
    gan = GANSampler(generator_hidden_layer_sizes=(8,), discriminator_hidden_layer_sizes=(8,),
                     latent_dim=2, batch_size=16, max_iter=2, random_state=0).fit(X)
    state = pickle.loads(pickle.dumps(gan)).__getstate__()
    state["device_"] = "cuda:0"
    loaded = GANSampler.__new__(GANSampler)
    loaded.__setstate__(state)
    with pytest.warns(UserWarning, match="continues on 'cpu'"):
        loaded.set_params(warm_start=True).fit(X)
    assert loaded.device_ == "cpu" and loaded.sample(5, random_state=0).shape == (5, 2)
