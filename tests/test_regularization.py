"""The regularization catalogue: each penalty checked against a direct computation,
and each technique shown to have its effect."""

import warnings

import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.datasets import load_digits, make_classification
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV

from skneural import MLPClassifier, MLPRegressor
from skneural._core.losses import smoothed_binary_log_loss, smoothed_log_loss
from skneural._core.regularizers import (
    GaussianMixturePrior,
    Regularizer,
    image_shift_tangents,
    jacobian_norm,
    l1_penalty,
    layer_l2_penalty,
    lp_penalty,
    tangent_propagation,
)
from skneural._core.validation import InvalidParameterError
from skneural.utils import check_gradient, input_jacobian, numerical_gradient

warnings.filterwarnings("ignore", category=ConvergenceWarning)


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return (X / 16.0)[:900], y[:900], (X / 16.0)[900:1300], y[900:1300]


@pytest.fixture()
def weights():
    gen = torch.Generator().manual_seed(0)
    return [torch.randn(4, 3, generator=gen, dtype=torch.float64).requires_grad_(True),
            torch.randn(2, 4, generator=gen, dtype=torch.float64).requires_grad_(True)]


def small_net(n_in=3, n_out=2):
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Linear(n_in, 5), torch.nn.Tanh(),
                               torch.nn.Linear(5, n_out)).double()


# ------------------------------------------- values and gradients, checked
def test_numerical_gradient_is_central_differences():
    x = torch.tensor([0.3, -1.2], dtype=torch.float64)
    grad = numerical_gradient(lambda: (x ** 3).sum(), x)
    torch.testing.assert_close(grad, 3 * x ** 2, atol=1e-8, rtol=1e-8)


def test_weight_penalty_values(weights):
    flat = torch.cat([w.detach().reshape(-1) for w in weights])
    torch.testing.assert_close(l1_penalty(weights), flat.abs().sum())
    torch.testing.assert_close(lp_penalty(weights, 0.5), (flat.abs() + 1e-8).pow(0.5).sum())
    expected = 0.5 * (0.1 * weights[0].detach().pow(2).sum() + 2.0 * weights[1].detach().pow(2).sum())
    torch.testing.assert_close(layer_l2_penalty(weights, [0.1, 2.0]), expected)
    with pytest.raises(ValueError, match="one strength per layer"):
        layer_l2_penalty(weights, [0.1])


@pytest.mark.parametrize("penalty", [
    lambda w: l1_penalty(w),
    lambda w: lp_penalty(w, 0.5),
    lambda w: layer_l2_penalty(w, [0.3, 1.5]),
])
def test_weight_penalty_gradients(weights, penalty):
    assert check_gradient(lambda: penalty(weights), weights) < 1e-6


def test_soft_weight_sharing_value_and_seed_gradients(weights):
    prior = GaussianMixturePrior(3, weights).double()
    flat = torch.cat([w.detach().reshape(-1) for w in weights])
    pi = torch.softmax(prior.logits.detach(), 0)
    mu, sigma = prior.means.detach(), prior.log_sigmas.detach().exp()
    density = (pi * torch.exp(-0.5 * ((flat[:, None] - mu) / sigma) ** 2)
               / (sigma * np.sqrt(2 * np.pi))).sum(1)
    # plus the Gamma prior on the precisions, c * sum_j (ln sigma_j^2 + sigma_0^2 / sigma_j^2)
    c, sigma0 = prior.VARIANCE_PRIOR_STRENGTH, np.exp(prior.initial_log_sigma)
    variance_prior = c * (torch.log(sigma ** 2) + sigma0 ** 2 / sigma ** 2).sum()
    torch.testing.assert_close(prior(weights), -torch.log(density).sum() + variance_prior)
    # seed 000: dOmega/dw_i = sum_j gamma_j(w_i) (w_i - mu_j) / sigma_j^2, and for mu_j
    gamma = pi * torch.exp(-0.5 * ((flat[:, None] - mu) / sigma) ** 2) / sigma
    gamma = gamma / gamma.sum(1, keepdim=True)
    grads = torch.autograd.grad(prior(weights), weights + [prior.means])
    expected_w = (gamma * (flat[:, None] - mu) / sigma ** 2).sum(1)
    torch.testing.assert_close(torch.cat([g.reshape(-1) for g in grads[:2]]), expected_w)
    torch.testing.assert_close(grads[2], (gamma * (mu - flat[:, None]) / sigma ** 2).sum(0))
    params = weights + list(prior.parameters())
    assert check_gradient(lambda: prior(weights), params) < 1e-6


def test_jacobian_penalty_matches_explicit_jacobian():
    net = small_net()
    x = torch.randn(6, 3, dtype=torch.float64)
    J = torch.autograd.functional.jacobian(lambda v: net(v).sum(0), x)  # (out, n, in)
    torch.testing.assert_close(jacobian_norm(net, (x,)), 0.5 * J.pow(2).sum())
    params = list(net.parameters())
    assert check_gradient(lambda: jacobian_norm(net, (x,)), params) < 1e-6


def test_tangent_propagation_matches_directional_derivative():
    net = small_net()
    x = torch.randn(6, 3, dtype=torch.float64)
    tau = torch.randn(6, 3, dtype=torch.float64)
    h = 1e-6
    directional = (net(x + h * tau) - net(x - h * tau)) / (2 * h)  # (n, k): sum_i J_nki tau_ni
    torch.testing.assert_close(tangent_propagation(net, (x,), tau),
                               0.5 * directional.pow(2).sum().detach(), rtol=1e-6, atol=1e-9)
    params = list(net.parameters())
    assert check_gradient(lambda: tangent_propagation(net, (x,), tau), params) < 1e-6


def test_shift_tangents_are_the_derivative_of_a_shift():
    img = torch.zeros(1, 1, 5, 5, dtype=torch.float64)
    img[..., :, 2] = 1.0  # a vertical bar
    dx, dy = image_shift_tangents(img)
    assert torch.equal(dy, torch.zeros_like(dy))  # a vertical bar does not change moving up
    torch.testing.assert_close(dx[0, 0, 2], torch.tensor([0, 0.5, 0, -0.5, 0], dtype=torch.float64))


def test_smoothed_losses_against_explicit_targets():
    rng = np.random.RandomState(0)
    raw = torch.tensor(rng.normal(size=(7, 4)))
    y = torch.tensor(rng.randint(0, 4, size=7))
    eps = 0.2
    soft = torch.full((7, 4), eps / 3, dtype=torch.float64)
    soft[torch.arange(7), y] = 1 - eps
    expected = -(soft * torch.log_softmax(raw, 1)).sum(1).mean()
    torch.testing.assert_close(smoothed_log_loss(raw, y, None, eps=eps), expected)
    yb = torch.tensor(rng.randint(0, 2, size=(7, 1)).astype(float))
    target = yb * (1 - eps) + (1 - yb) * eps
    expected = torch.nn.functional.binary_cross_entropy_with_logits(raw[:, :1], target)
    torch.testing.assert_close(smoothed_binary_log_loss(raw[:, :1], yb, None, eps=eps), expected)


# ------------------------------------------------------ effects, shown
def test_l1_and_lp_drive_weights_to_zero(digits):
    X, y, _, _ = digits
    kw = dict(hidden_layer_sizes=(32,), max_iter=60, learning_rate_init=0.003, random_state=0)
    plain = MLPClassifier(**kw).fit(X, y)
    near_zero = lambda clf: float(np.mean(np.abs(clf.coefs_[0]) < 1e-2))  # noqa: E731
    l1 = MLPClassifier(alpha_l1=0.05, **kw).fit(X, y)
    lp = MLPClassifier(alpha_lp=0.05, lp_exponent=0.5, **kw).fit(X, y)
    assert near_zero(l1) > 3 * near_zero(plain), (near_zero(l1), near_zero(plain))
    assert near_zero(lp) > 3 * near_zero(plain), (near_zero(lp), near_zero(plain))
    assert l1.score(X, y) > 0.8


def test_soft_weight_sharing_clusters_weights(digits):
    X, y, _, _ = digits
    kw = dict(hidden_layer_sizes=(16,), max_iter=60, learning_rate_init=0.003, random_state=0)
    plain = MLPClassifier(**kw).fit(X, y)
    shared = MLPClassifier(soft_sharing=0.3, soft_sharing_components=3, **kw).fit(X, y)
    prior = shared.module_.weight_prior
    means = prior.means.detach().numpy()

    def spread(clf):  # distance to the nearest learned mean, relative to the weights' spread
        w = np.concatenate([c.ravel() for c in clf.coefs_])
        return np.mean(np.min(np.abs(w[:, None] - means), axis=1)) / w.std()

    assert spread(shared) < 0.7 * spread(plain), (spread(shared), spread(plain))
    assert not np.allclose(means, np.linspace(means[0], means[-1], 3))  # the means moved


def test_jacobian_penalty_lowers_the_input_gradient(digits):
    X, y, X_te, _ = digits
    kw = dict(hidden_layer_sizes=(32,), max_iter=30, random_state=0)
    plain = MLPClassifier(**kw).fit(X, y)
    smooth = MLPClassifier(jacobian_penalty=1.0, **kw).fit(X, y)
    norm = lambda clf: float(np.mean(input_jacobian(clf, X_te) ** 2))  # noqa: E731
    assert norm(smooth) < 0.5 * norm(plain)


def test_input_noise_also_lowers_the_input_gradient():
    """Training with input noise acts like the Tikhonov penalty (Bishop 5.5.5)."""
    rng = np.random.RandomState(0)
    X = rng.normal(size=(300, 4))
    y = np.sin(2 * X[:, 0]) + 0.1 * rng.normal(size=300)
    kw = dict(hidden_layer_sizes=(64,), max_iter=150, learning_rate_init=0.01, random_state=0)
    plain = MLPRegressor(**kw).fit(X, y)
    noisy = MLPRegressor(input_noise=0.5, **kw).fit(X, y)
    norm = lambda reg: float(np.mean(input_jacobian(reg, X) ** 2))  # noqa: E731
    assert norm(noisy) < norm(plain)


def test_label_smoothing_lowers_confidence(digits):
    X, y, X_te, _ = digits
    kw = dict(hidden_layer_sizes=(32,), max_iter=60, random_state=0)
    sharp = MLPClassifier(**kw).fit(X, y).predict_proba(X_te).max(1).mean()
    smooth_clf = MLPClassifier(label_smoothing=0.2, **kw).fit(X, y)
    smooth = smooth_clf.predict_proba(X_te).max(1).mean()
    assert smooth < sharp - 0.05 and smooth < 0.85
    assert smooth_clf.score(X_te, digits[3]) > 0.85


def test_dropconnect_masks_weights_in_training_only(digits):
    X, y, _, _ = digits
    clf = MLPClassifier(hidden_layer_sizes=(32,), max_iter=2, dropconnect=0.5, random_state=0)
    seen = []
    original = MLPClassifier._data_loss

    def spy(self, raw, target, weight):
        seen.append(float((self.module_.hidden[0][0].weight == 0).float().mean()))
        return original(self, raw, target, weight)

    MLPClassifier._data_loss = spy
    try:
        clf.fit(X, y)
    finally:
        MLPClassifier._data_loss = original
    assert 0.4 < np.mean(seen) < 0.6  # half the weights were dropped in each step
    assert np.mean(clf.coefs_[0] == 0) < 0.01  # the stored weights are whole
    np.testing.assert_array_equal(clf.predict_proba(X), clf.predict_proba(X))


def test_weight_noise_perturbs_steps_not_predictions(digits):
    X, y, _, _ = digits
    reg = Regularizer(MLPClassifier(weight_noise=0.1), small_net())
    before = [w.detach().clone() for w in reg.weights]
    reg.perturb_weights()
    assert all(not torch.equal(a, b) for a, b in zip(before, reg.weights))
    reg.restore_weights()
    assert all(torch.equal(a, b) for a, b in zip(before, reg.weights))
    clf = MLPClassifier(hidden_layer_sizes=(16,), max_iter=5, weight_noise=0.05,
                        random_state=0).fit(X, y)
    np.testing.assert_array_equal(clf.predict_proba(X), clf.predict_proba(X))


def fgsm(clf, X, y, eps):
    """Perturb X against clf's own gradient (the attack the training defends against)."""
    x = torch.tensor(X, requires_grad=True)
    target = torch.as_tensor(np.searchsorted(clf.classes_, y))
    loss = torch.nn.functional.cross_entropy(clf.module_.eval()(x), target)
    (grad,) = torch.autograd.grad(loss, x)
    return (x + eps * grad.sign()).detach().numpy()


def test_fgsm_training_improves_adversarial_accuracy(digits):
    X, y, X_te, y_te = digits
    kw = dict(hidden_layer_sizes=(64,), max_iter=60, random_state=0)
    plain = MLPClassifier(**kw).fit(X, y)
    robust = MLPClassifier(adversarial=0.5, adversarial_eps=0.1, **kw).fit(X, y)
    acc_plain = plain.score(fgsm(plain, X_te, y_te, 0.1), y_te)
    acc_robust = robust.score(fgsm(robust, X_te, y_te, 0.1), y_te)
    assert acc_robust > acc_plain + 0.1, (acc_robust, acc_plain)


def test_penalties_are_zero_before_their_start_epoch(digits):
    X, y, _, _ = digits
    kw = dict(hidden_layer_sizes=(16,), max_iter=6, random_state=0, shuffle=False)
    plain = MLPClassifier(alpha=0.0, **kw).fit(X, y)
    late = MLPClassifier(alpha=5.0, alpha_l1=0.5, penalty_start_epoch=3, **kw).fit(X, y)
    np.testing.assert_allclose(late.loss_curve_[:3], plain.loss_curve_[:3], rtol=1e-9)
    assert late.loss_curve_[3] > plain.loss_curve_[3] + 0.1


def test_gradient_norms_are_recorded_per_layer():
    """A deep logistic network shows the vanishing gradient: early layers learn slowest."""
    X, y = make_classification(n_samples=200, n_features=10, random_state=0)
    clf = MLPClassifier(hidden_layer_sizes=(32,) * 5, activation="logistic", max_iter=3,
                        random_state=0).fit(X, y)
    norms = np.asarray(clf.gradient_norms_)
    assert norms.shape == (3, 6)
    assert norms[0, 0] < 0.1 * norms[0, -1]


def test_mc_dropout_averages_reproducible_passes(digits):
    X, y, X_te, _ = digits
    kw = dict(hidden_layer_sizes=(64,), dropout=0.5, max_iter=20, random_state=0)
    clf = MLPClassifier(**kw).fit(X, y)
    single = clf.predict_proba(X_te)
    clf.set_params(mc_dropout=20)
    mc = clf.predict_proba(X_te)
    assert not np.allclose(mc, single)
    np.testing.assert_array_equal(mc, clf.predict_proba(X_te))
    np.testing.assert_allclose(mc.sum(1), 1.0)
    assert (mc.argmax(1) == single.argmax(1)).mean() > 0.9


# ----------------------------------------------- sklearn plumbing for them
@pytest.mark.parametrize("param,value", [
    ("alpha_l1", -1.0), ("alpha_lp", -0.1), ("lp_exponent", 1.5), ("soft_sharing", -1),
    ("soft_sharing_components", 1), ("jacobian_penalty", -1), ("input_noise", -0.1),
    ("weight_noise", -0.1), ("dropconnect", 1.0), ("adversarial", 1.5),
    ("adversarial_eps", -0.1), ("penalty_start_epoch", -1), ("label_smoothing", 1.0),
    ("mc_dropout", -1),
])
def test_invalid_regularization_values_are_rejected(digits, param, value):
    X, y, _, _ = digits
    with pytest.raises(InvalidParameterError, match=param):
        MLPClassifier(**{param: value}).fit(X, y)


def test_regularizers_survive_clone_and_grid_search(digits):
    X, y, _, _ = digits
    clf = MLPClassifier(hidden_layer_sizes=(16,), max_iter=40, alpha_l1=1e-3,
                        layer_alphas=[0.1, 0.1], label_smoothing=0.1, random_state=0)
    assert clone(clf).get_params() == clf.get_params()
    grid = GridSearchCV(clf, {"alpha_l1": [0.0, 1e-3], "dropconnect": [0.0, 0.2]}, cv=2).fit(X, y)
    assert len(grid.cv_results_["params"]) == 4 and grid.best_score_ > 0.5


def test_tangent_prop_makes_a_convnet_less_sensitive_to_shifts(digits):
    from skneural import ConvNetClassifier

    X, y, X_te, _ = digits
    kw = dict(input_shape=(8, 8), filters=(8,), hidden_layer_sizes=(32,), max_iter=20,
              n_threads=1, random_state=0)
    plain = ConvNetClassifier(**kw).fit(X, y)
    invariant = ConvNetClassifier(tangent_prop=0.3, **kw).fit(X, y)

    def shift_sensitivity(clf):
        x = torch.as_tensor(X_te).reshape(-1, 1, 8, 8)
        module = clf.module_.eval()
        return sum(float(tangent_propagation(module, (x,), t).detach())
                   for t in image_shift_tangents(x))

    assert shift_sensitivity(invariant) < 0.3 * shift_sensitivity(plain)
    assert invariant.score(X_te, digits[3]) > plain.score(X_te, digits[3]) - 0.1
