"""MixtureDensityRegressor: the likelihood against torch.distributions, the
predictive mixture against direct computation, and sklearn's own checks."""

import math
import warnings

import numpy as np
import pytest
import torch
from scipy import stats
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from torch.distributions import Categorical, Independent, MixtureSameFamily, Normal

from _estimators import assert_restored_the_best_epoch, record_validation_epochs
from skneural import MixtureDensityRegressor, log_likelihood_scorer
from skneural._mdn.density import (
    mixture_log_prob,
    mixture_mode,
    mixture_nll,
    mixture_quantile,
    mixture_sample,
    n_raw_outputs,
    split_raw,
)

torch.set_num_threads(1)
# Adam with sklearn's L2 strength, as these tests were written (the defaults are below)
FAST = {"hidden_layer_sizes": (16,), "solver": "adam", "alpha": 0.0001, "max_iter": 60,
        "random_state": 0}


@pytest.fixture(autouse=True)
def _quiet():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        yield


# ------------------------------------------------------------- the likelihood
def oracle_nll(raw, target, weight, K, covariance_type, std_transform, min_std):
    """The same NLL built from torch.distributions, from an independent split of ``raw``."""
    B, D = target.shape
    S = 1 if covariance_type == "spherical" else D
    logits = raw[:, :K]
    loc = raw[:, K:K + K * D].reshape(B, K, D)
    a = raw[:, K + K * D:].reshape(B, K, S)
    link = torch.exp if std_transform == "exp" else torch.nn.functional.softplus
    scale = (link(a) + min_std).expand(B, K, D)
    mixture = MixtureSameFamily(Categorical(logits=logits), Independent(Normal(loc, scale), 1))
    nll = -mixture.log_prob(target)
    return nll.mean() if weight is None else (nll * weight).sum() / weight.sum()


def random_problem(extreme, covariance_type, seed, B=64, K=4, D=3):
    gen = torch.Generator().manual_seed(seed)
    P = n_raw_outputs(K, D, covariance_type)
    raw = torch.randn(B, P, generator=gen, dtype=torch.float64)
    target = torch.randn(B, D, generator=gen, dtype=torch.float64)
    if extreme:
        raw[:, :K] *= 300.0                                     # near one-hot mixing weights
        raw[:, K + K * D:] = -25.0 + 5.0 * raw[:, K + K * D:]   # sigma down to ~1e-17 under exp
        target = target * 1e3                                    # targets far from every mean
    weight = torch.rand(B, generator=gen, dtype=torch.float64)
    return raw, target, weight, K


@pytest.mark.parametrize("extreme", [False, True])
@pytest.mark.parametrize("covariance_type", ["diag", "spherical"])
@pytest.mark.parametrize("std_transform", ["exp", "softplus"])
@pytest.mark.parametrize("min_std", [0.0, 1e-3])
@pytest.mark.parametrize("weighted", [False, True])
def test_nll_and_gradient_match_mixture_same_family(extreme, covariance_type, std_transform,
                                                    min_std, weighted):
    raw, target, weight, K = random_problem(extreme, covariance_type, seed=1)
    weight = weight if weighted else None
    kw = {"n_components": K, "covariance_type": covariance_type, "std_transform": std_transform,
              "min_std": min_std}
    raw_a = raw.clone().requires_grad_(True)
    ours = mixture_nll(raw_a, target, weight, **kw)
    (grad_ours,) = torch.autograd.grad(ours, raw_a)
    raw_b = raw.clone().requires_grad_(True)
    theirs = oracle_nll(raw_b, target, weight, K, covariance_type, std_transform, min_std)
    (grad_theirs,) = torch.autograd.grad(theirs, raw_b)

    assert torch.isfinite(ours) and torch.isfinite(grad_ours).all()
    torch.testing.assert_close(ours, theirs, rtol=1e-10, atol=0)
    torch.testing.assert_close(grad_ours, grad_theirs, rtol=1e-8, atol=1e-12)


def test_nll_is_finite_where_the_naive_sum_underflows():
    # one component, target 40 sigma away: N(t) = exp(-800) underflows to 0 in
    # float64, so -log(sum_k pi_k N_k) is inf, but log-sum-exp stays exact
    mu, log_sigma, t = 0.0, math.log(0.5), 20.0
    raw = torch.tensor([[0.0, mu, log_sigma]], dtype=torch.float64)
    target = torch.tensor([[t]], dtype=torch.float64)
    naive = -torch.log(torch.exp(torch.distributions.Normal(mu, 0.5).log_prob(target)))
    assert torch.isinf(naive).all()
    nll = mixture_nll(raw, target, n_components=1, covariance_type="diag")
    expected = 0.5 * ((t - mu) / 0.5) ** 2 + log_sigma + 0.5 * math.log(2 * math.pi)
    assert float(nll) == pytest.approx(expected, rel=1e-14)


def test_float32_nll_agrees_with_float64_on_extreme_inputs():
    raw, target, _, K = random_problem(True, "diag", seed=2)
    raw[:, K + K * 3:] = raw[:, K + K * 3:].clamp(min=-12)   # sigma >= 6e-6, float32's range
    target = target / 100
    kw = {"n_components": K, "covariance_type": "diag", "std_transform": "exp", "min_std": 0.0}
    nll64 = mixture_nll(raw, target, **kw)
    nll32 = mixture_nll(raw.float(), target.float(), **kw)
    assert torch.isfinite(nll32)
    assert float(nll32) == pytest.approx(float(nll64), rel=1e-5)


# ------------------------------------------------------- the mixture helpers
def test_mixture_mode_matches_grid_argmax():
    weights = np.array([[0.3, 0.7], [0.8, 0.2]])
    means = np.array([[[-2.0], [3.0]], [[0.0], [0.6]]])     # second row: overlapping components
    stds = np.array([[[0.5], [1.5]], [[0.4], [0.4]]])
    mode = mixture_mode(weights, means, stds)[:, 0]
    grid = np.linspace(-6, 8, 200001)
    for i in range(2):
        density = sum(w * stats.norm.pdf(grid, m, s)
                      for w, m, s in zip(weights[i], means[i, :, 0], stds[i, :, 0]))
        assert mode[i] == pytest.approx(grid[density.argmax()], abs=1e-4)
    chunked = mixture_mode(np.repeat(weights, 3, 0), np.repeat(means, 3, 0),
                           np.repeat(stds, 3, 0), chunk=2)
    np.testing.assert_allclose(chunked[::3, 0], mode)


def test_mixture_quantile_inverts_the_cdf():
    weights = np.array([[0.25, 0.75]])
    means = np.array([[[-1.0, 10.0], [2.0, 20.0]]])
    stds = np.array([[[0.3, 1.0], [1.0, 2.0]]])
    for q in (0.01, 0.3, 0.5, 0.97):
        t = mixture_quantile(q, weights, means, stds)[0]
        for d in range(2):
            cdf = sum(w * stats.norm.cdf(t[d], m, s)
                      for w, m, s in zip(weights[0], means[0, :, d], stds[0, :, d]))
            assert cdf == pytest.approx(q, abs=1e-10)


def test_mixture_sample_follows_the_mixture():
    weights = np.array([[0.2, 0.5, 0.3]])
    means = np.array([[[-4.0], [0.0], [5.0]]])
    stds = np.array([[[0.5], [1.0], [0.2]]])
    draws = mixture_sample(weights, means, stds, n_samples=20000,
                           rng=np.random.RandomState(0))[0, :, 0]

    def cdf(t):
        return sum(w * stats.norm.cdf(t, m, s)
                   for w, m, s in zip(weights[0], means[0, :, 0], stds[0, :, 0]))

    assert stats.kstest(draws, cdf).pvalue > 0.01
    assert stats.kstest(draws + 0.1, cdf).pvalue < 1e-6   # the test has power


# ------------------------------------------------------------- the estimator
def two_branches(n=300, seed=0):
    """y = +-1 (a fair coin) + small noise: the conditional mean 0 is never observed."""
    rng = np.random.RandomState(seed)
    X = rng.uniform(0, 1, size=(n, 1))
    y = np.where(rng.uniform(size=n) < 0.5, -1.0, 1.0) + 0.05 * rng.normal(size=n)
    return X, y


def inverse_problem(n=400, seed=0):
    rng = np.random.RandomState(seed)
    y = rng.uniform(-10.5, 10.5, n)
    X = (7 * np.sin(0.75 * y) + 0.5 * y + rng.normal(size=n)).reshape(-1, 1)
    return X, y


@pytest.fixture(scope="module")
def fitted_two_branches():
    X, y = two_branches()
    params = {**FAST, "max_iter": 150, "learning_rate_init": 0.01}
    return MixtureDensityRegressor(n_components=3, **params).fit(X, y), X, y


def test_log_likelihood_is_the_density_of_predict_mixture(fitted_two_branches):
    mdn, X, y = fitted_two_branches
    weights, means, stds = mdn.predict_mixture(X[:20])
    expected = np.log(sum(weights[:, k] * stats.norm.pdf(y[:20], means[:, k, 0], stds[:, k, 0])
                          for k in range(mdn.n_components)))
    np.testing.assert_allclose(mdn.log_likelihood(X[:20], y[:20]), expected, rtol=1e-10)
    np.testing.assert_allclose(weights.sum(axis=1), 1.0, rtol=1e-12)
    np.testing.assert_allclose(mdn.predict(X[:20]), (weights * means[:, :, 0]).sum(1), rtol=1e-12)


def test_density_integrates_to_one_in_target_units(fitted_two_branches):
    mdn, X, _ = fitted_two_branches
    grid = np.linspace(-4, 4, 4001)
    density = np.exp(mdn.log_likelihood(np.repeat(X[:1], grid.size, axis=0), grid))
    assert np.trapezoid(density, grid) == pytest.approx(1.0, abs=1e-6)


def test_mixture_recovers_both_branches(fitted_two_branches):
    mdn, X, y = fitted_two_branches
    weights, means, _ = mdn.predict_mixture(X[:50])
    for branch in (-1.0, 1.0):
        near = np.abs(means[:, :, 0] - branch) < 0.2
        np.testing.assert_allclose((weights * near).sum(axis=1), 0.5, atol=0.1)
    assert mdn.log_likelihood(X, y).mean() > 0.5      # a single Gaussian reaches at most -1.42
    assert np.all(np.abs(np.abs(mdn.predict_mode(X[:50])) - 1.0) < 0.1)
    assert np.all(np.abs(mdn.predict(X[:50])) < 0.3)  # the mean sits between the branches


def test_jacobian_of_target_scaling():
    # the standardized problem is the same for y and c*y + b, so the fits agree and
    # every density differs by exactly the Jacobian 1/|c| (per output); a spherical
    # model shares one scale across outputs, so only a common c leaves it unchanged
    X, y = inverse_problem(200)
    Y = np.column_stack([y, np.cos(y)])
    b = np.array([-50.0, 7.0])
    for covariance_type, c in (("diag", np.array([3.0, 0.2])), ("spherical", np.array([4.0, 4.0]))):
        kw = dict(n_components=2, covariance_type=covariance_type, **{**FAST, "max_iter": 20})
        a = MixtureDensityRegressor(**kw).fit(X, Y)
        s = MixtureDensityRegressor(**kw).fit(X, Y * c + b)
        shift = np.log(c).sum()
        np.testing.assert_allclose(s.log_likelihood(X, Y * c + b),
                                   a.log_likelihood(X, Y) - shift, rtol=1e-6, atol=1e-8)
        np.testing.assert_allclose(s.loss_curve_, np.array(a.loss_curve_) + shift, rtol=1e-6)


def test_spherical_keeps_one_width_per_component_in_target_units():
    X, y = inverse_problem(200)
    Y = np.column_stack([y, 10 * y])
    mdn = MixtureDensityRegressor(n_components=2, covariance_type="spherical", **FAST).fit(X, Y)
    _, means, stds = mdn.predict_mixture(X[:5])
    assert means.shape == stds.shape == (5, 2, 2)
    np.testing.assert_allclose(stds[:, :, 0], stds[:, :, 1], rtol=1e-12)


def test_predict_interval_matches_its_quantiles_and_covers(fitted_two_branches):
    mdn, X, y = fitted_two_branches
    lower, upper = mdn.predict_interval(X, coverage=0.8)
    q = mdn.predict_quantile(X, [0.1, 0.9])
    np.testing.assert_allclose(lower, q[:, 0])
    np.testing.assert_allclose(upper, q[:, 1])
    assert np.all(lower < upper)
    assert 0.7 < np.mean((y >= lower) & (y <= upper)) < 0.9
    assert mdn.predict_quantile(X[:3], 0.5).shape == (3,)


def test_sample_is_reproducible_and_follows_the_fit(fitted_two_branches):
    mdn, X, _ = fitted_two_branches
    draws = mdn.sample(X[:2], n_samples=4000, random_state=0)
    assert draws.shape == (2, 4000)
    np.testing.assert_array_equal(draws, mdn.sample(X[:2], n_samples=4000, random_state=0))
    weights, means, stds = mdn.predict_mixture(X[:2])
    mean = (weights * means[:, :, 0]).sum(1)
    var = (weights * (stds[:, :, 0] ** 2 + means[:, :, 0] ** 2)).sum(1) - mean ** 2
    np.testing.assert_allclose(draws.mean(1), mean, atol=4 * np.sqrt(var / 4000).max())


def test_multi_output_shapes():
    X, y = inverse_problem(200)
    Y = np.column_stack([y, -y])
    mdn = MixtureDensityRegressor(n_components=2, **FAST).fit(X, Y)
    assert mdn.predict(X[:4]).shape == (4, 2)
    assert mdn.predict_mode(X[:4]).shape == (4, 2)
    assert mdn.sample(X[:4], 3, random_state=0).shape == (4, 3, 2)
    assert mdn.predict_quantile(X[:4], [0.1, 0.5, 0.9]).shape == (4, 3, 2)
    assert mdn.log_likelihood(X[:4], Y[:4]).shape == (4,)


# few rows, small batches, a patient stop: the validation likelihood peaks and then falls
OVERFIT = {**FAST, "hidden_layer_sizes": (32,), "batch_size": 16, "max_iter": 300,
           "learning_rate_init": 0.01, "early_stopping": True, "validation_fraction": 0.3,
           "n_iter_no_change": 10}


def test_early_stopping_monitors_validation_log_likelihood():
    X, y = inverse_problem(100)
    mdn = MixtureDensityRegressor(n_components=3, **OVERFIT)
    record = record_validation_epochs(mdn)
    mdn.fit(X, y)
    assert_restored_the_best_epoch(mdn, record)
    # the held-out rows the engine scored, found in X (its values are distinct)
    X_val = record["val"][0][0].cpu().numpy()
    val = np.concatenate([np.flatnonzero(X[:, 0] == row[0]) for row in X_val])
    assert len(val) == 30
    # the restored weights score the best epoch, and that score is the mean validation
    # log-likelihood in the target's units
    ll = mdn.log_likelihood(X[val], y[val]).mean()
    assert ll == pytest.approx(mdn.best_validation_score_, rel=1e-10)
    assert ll > mdn.validation_scores_[-1]


def test_log_likelihood_scorer_selects_the_mixture_r2_cannot():
    X, y = two_branches(200)
    X = 100 * X + 5                                     # the pipeline's scaler undoes this
    grid = {"mixturedensityregressor__n_components": [1, 2]}
    pipe = make_pipeline(StandardScaler(), MixtureDensityRegressor(
        **{**FAST, "max_iter": 100, "learning_rate_init": 0.01}))
    by_likelihood = GridSearchCV(pipe, grid, cv=2, scoring=log_likelihood_scorer).fit(X, y)
    assert by_likelihood.best_params_ == {"mixturedensityregressor__n_components": 2}
    scores = by_likelihood.cv_results_["mean_test_score"]
    assert scores[1] > scores[0] + 1.0
    best = by_likelihood.best_estimator_
    expected = best[-1].log_likelihood(best[0].transform(X), y).mean()
    assert log_likelihood_scorer(best, X, y) == pytest.approx(expected, rel=1e-12)


def test_float32_inputs_train_in_float32():
    X, y = inverse_problem(100)
    mdn = MixtureDensityRegressor(n_components=2, **FAST).fit(X.astype(np.float32), y)
    assert next(mdn.module_.parameters()).dtype == torch.float32
    assert np.isfinite(mdn.log_likelihood(X, y)).all()


def test_bad_input_raises_clear_errors(fitted_two_branches):
    mdn, X, y = fitted_two_branches
    with pytest.raises(ValueError, match="n_components"):
        MixtureDensityRegressor(n_components=0).fit(X, y)
    with pytest.raises(ValueError, match="covariance_type"):
        MixtureDensityRegressor(covariance_type="full").fit(X, y)
    with pytest.raises(ValueError, match="quantiles"):
        mdn.predict_quantile(X, 1.5)
    with pytest.raises(ValueError, match="coverage"):
        mdn.predict_interval(X, coverage=95)
    with pytest.raises(ValueError, match="n_samples"):
        mdn.sample(X, n_samples=0)
    with pytest.raises(ValueError, match="shape"):
        mdn.log_likelihood(X, np.column_stack([y, y]))
    with pytest.raises(ValueError, match="NaN"):
        mdn.log_likelihood(X, np.where(y > 0, np.nan, y))


# ------------------------------------------------------------- n_estimators
def test_n_estimators_averages_independent_members():
    X, y = inverse_problem(200)
    kw = dict(n_components=2, **{**FAST, "max_iter": 15, "shuffle": False, "tol": 0.0})
    single = MixtureDensityRegressor(**kw).fit(X, y)
    stack = MixtureDensityRegressor(n_estimators=3, **kw).fit(X, y)
    members = stack.module_.members
    # each member is trained on its own loss: member 0 is exactly the single fit
    for p, q in zip(members[0].parameters(), single.module_.parameters()):
        torch.testing.assert_close(p, q, rtol=0, atol=0)
    assert not torch.equal(members[0].out.weight, members[1].out.weight)
    # the predictive density is the mean of the members' densities, one K*M mixture
    weights, means, stds = stack.predict_mixture(X[:10])
    assert weights.shape == (10, 6) and means.shape == stds.shape == (10, 6, 1)
    np.testing.assert_allclose(weights.sum(axis=1), 1.0, rtol=1e-12)
    Z = torch.as_tensor(X[:10])
    with torch.no_grad():
        member_lp = []
        for member in members:
            params = split_raw(member(Z).double(), 2, 1, "diag", "exp", stack.min_std)
            target = torch.as_tensor((y[:10, None] - stack._y_mean) / stack._y_scale)
            member_lp.append(mixture_log_prob(target, *params).numpy() - stack._log_jacobian)
    expected = np.logaddexp.reduce(member_lp, axis=0) - np.log(3)
    np.testing.assert_allclose(stack.log_likelihood(X[:10], y[:10]), expected, rtol=1e-10)
    np.testing.assert_allclose(single.log_likelihood(X[:10], y[:10]), member_lp[0], rtol=1e-10)
    assert stack.n_layers_ == single.n_layers_ and len(stack.coefs_) == 3 * len(single.coefs_)


def test_n_estimators_with_lbfgs_and_early_stopping():
    X, y = inverse_problem(300)
    mdn = MixtureDensityRegressor(n_components=3, n_estimators=2, solver="lbfgs",
                                  hidden_layer_sizes=(8,), max_iter=30,
                                  random_state=0).fit(X, y)
    assert np.isfinite(mdn.loss_) and mdn.predict_mixture(X[:3])[0].shape == (3, 6)
    es = MixtureDensityRegressor(n_components=3, n_estimators=2, **OVERFIT)
    record = record_validation_epochs(es)
    es.fit(*inverse_problem(100))
    assert_restored_the_best_epoch(es, record)  # both members' weights, of the same epoch
    with pytest.raises(ValueError, match="n_estimators"):
        MixtureDensityRegressor(n_estimators=0).fit(X, y)


# ---------------------------------------------------------------- defaults
def test_defaults_fit_lbfgs_and_beat_the_previous_adam_defaults():
    X, y = inverse_problem(500, seed=1)
    X_test, y_test = inverse_problem(2000, seed=2)
    scaler = StandardScaler().fit(X)
    X, X_test = scaler.transform(X), scaler.transform(X_test)
    mdn = MixtureDensityRegressor(random_state=0, n_threads=1).fit(X, y)
    assert mdn.solver_ == "lbfgs" and mdn.max_iter_ == 2000 and mdn.alpha == 1.0
    before = MixtureDensityRegressor(solver="adam", alpha=0.0001, max_iter=200,
                                     n_iter_no_change=10, random_state=0, n_threads=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        before.fit(X, y)
    # the Bayes-optimal NLL: p(y | x) = N(x | f(y), 1) U(y) / p(x), p(x) by the trapezoid rule
    x, grid = scaler.inverse_transform(X_test)[:, 0], np.linspace(-10.5, 10.5, 4001)
    f = 7 * np.sin(0.75 * grid) + 0.5 * grid
    log_px = np.log(np.trapezoid(np.exp(-0.5 * (x[:, None] - f) ** 2), grid, axis=1))
    bayes = np.mean(0.5 * (x - 7 * np.sin(0.75 * y_test) - 0.5 * y_test) ** 2 + log_px)
    gap = -mdn.log_likelihood(X_test, y_test).mean() - bayes
    gap_before = -before.log_likelihood(X_test, y_test).mean() - bayes
    assert 0 < gap < gap_before - 0.05
    # larger data, early stopping or a random regularizer switch "auto" to Adam
    assert MixtureDensityRegressor(early_stopping=True, max_iter=2, random_state=0).fit(
        X, y).solver_ == "adam"


def test_partial_fit_continues_an_lbfgs_default_fit_with_adam():
    X, y = inverse_problem(100)
    mdn = MixtureDensityRegressor(max_iter=5, random_state=0, n_threads=1).fit(X, y)
    assert mdn.solver_ == "lbfgs" and not hasattr(mdn, "loss_curve_")
    fitted_iters = mdn.n_iter_
    before = mdn.log_likelihood(X, y)
    mdn.partial_fit(X, y)
    assert mdn.solver_ == "adam" and len(mdn.loss_curve_) == 1
    assert mdn.n_iter_ == fitted_iters + 1
    assert not np.allclose(mdn.log_likelihood(X, y), before)


# ------------------------------------------------- generalized normal components
def gennorm_problem(covariance_type, seed, B=32, K=3, D=2):
    """Raw outputs with shapes spread over [1, 16], and targets near and far."""
    gen = torch.Generator().manual_seed(seed)
    P = n_raw_outputs(K, D, covariance_type, "generalized_normal")
    raw = torch.randn(B, P, generator=gen, dtype=torch.float64)
    S = 1 if covariance_type == "spherical" else D
    raw[:, -K * S:] = 4.0 * raw[:, -K * S:]                      # beta from ~1 to ~16
    target = 2.0 * torch.randn(B, D, generator=gen, dtype=torch.float64)
    return raw, target, K


def oracle_gennorm_log_prob(raw, target, K, covariance_type, min_std):
    """log p from scipy.stats.gennorm, from an independent split of ``raw``."""
    raw, target = raw.detach().numpy(), target.numpy()
    B, D = target.shape
    S = 1 if covariance_type == "spherical" else D
    logits = raw[:, :K]
    log_w = logits - np.logaddexp.reduce(logits, axis=1, keepdims=True)
    loc = raw[:, K:K + K * D].reshape(B, K, D)
    scale = np.exp(raw[:, K + K * D:K + K * D + K * S]).reshape(B, K, S) + min_std
    a_beta = raw[:, K + K * D + K * S:].reshape(B, K, S)
    beta = 1 + 15 / (1 + np.exp(-(a_beta - np.log(14.0))))
    scale, beta = np.broadcast_to(scale, loc.shape), np.broadcast_to(beta, loc.shape)
    log_comp = stats.gennorm.logpdf(target[:, None, :], beta, loc, scale).sum(-1)
    return np.logaddexp.reduce(log_w + log_comp, axis=1)


@pytest.mark.parametrize("covariance_type", ["diag", "spherical"])
@pytest.mark.parametrize("min_std", [0.0, 1e-3])
def test_generalized_normal_log_prob_matches_scipy_and_gradcheck(covariance_type, min_std):
    raw, target, K = gennorm_problem(covariance_type, seed=3)
    params = split_raw(raw, K, 2, covariance_type, "exp", min_std, "generalized_normal")
    assert len(params) == 4 and 1.0 <= float(params[3].min()) and float(params[3].max()) <= 16
    ours = mixture_log_prob(target, *params).numpy()
    np.testing.assert_allclose(ours, oracle_gennorm_log_prob(raw, target, K, covariance_type,
                                                             min_std), rtol=1e-10)
    # the gradient, shapes included, against central differences
    kw = {"n_components": K, "covariance_type": covariance_type, "min_std": min_std,
          "component": "generalized_normal"}
    torch.autograd.gradcheck(lambda r: mixture_nll(r, target[:8], **kw),
                             (raw[:8].clone().requires_grad_(True),))


def test_generalized_normal_starts_as_the_gaussian_and_stays_finite():
    # a_beta = 0 is beta = 2: a Gaussian with sigma = alpha / sqrt(2)
    raw, target, _, K = random_problem(False, "diag", seed=4)
    D = target.shape[1]
    shaped = torch.cat([raw, torch.zeros(raw.shape[0], K * D, dtype=raw.dtype)], dim=1)
    shift = raw.clone()
    shift[:, K + K * D:] -= math.log(math.sqrt(2.0))         # sigma = alpha / sqrt(2)
    gn = mixture_nll(shaped, target, n_components=K, covariance_type="diag",
                     component="generalized_normal")
    gauss = mixture_nll(shift, target, n_components=K, covariance_type="diag")
    assert float(gn) == pytest.approx(float(gauss), rel=1e-12)
    # a point hundreds of scales from a flat-topped float32 component: finite, no NaN gradient
    far = torch.tensor([[0.0, 0.0, math.log(1e-3), 8.0]], requires_grad=True)
    nll = mixture_nll(far, torch.tensor([[5.0]]), n_components=1, covariance_type="diag",
                      component="generalized_normal")
    nll.backward()
    assert torch.isfinite(nll) and torch.isfinite(far.grad).all()


GN_WEIGHTS = np.array([[0.3, 0.7]])
GN_MEANS = np.array([[[-2.0], [1.0]]])
GN_SCALES = np.array([[[0.5], [1.5]]])
GN_SHAPES = np.array([[[1.3], [9.0]]])


def gn_cdf(t):
    return sum(w * stats.gennorm.cdf(t, b, m, s) for w, m, s, b in
               zip(GN_WEIGHTS[0], GN_MEANS[0, :, 0], GN_SCALES[0, :, 0], GN_SHAPES[0, :, 0]))


def gn_pdf(t):
    return sum(w * stats.gennorm.pdf(t, b, m, s) for w, m, s, b in
               zip(GN_WEIGHTS[0], GN_MEANS[0, :, 0], GN_SCALES[0, :, 0], GN_SHAPES[0, :, 0]))


def test_generalized_normal_cdf_quantile_density_mode_against_scipy():
    from skneural._mdn.density import mixture_cdf, mixture_log_density
    grid = np.linspace(-12, 12, 24001)
    cdf = mixture_cdf(grid[:, None], np.repeat(GN_WEIGHTS, grid.size, 0),
                      np.repeat(GN_MEANS, grid.size, 0), np.repeat(GN_SCALES, grid.size, 0),
                      np.repeat(GN_SHAPES, grid.size, 0))[:, 0]
    np.testing.assert_allclose(cdf, gn_cdf(grid), atol=1e-12)
    density = np.exp(mixture_log_density(grid[None, :, None], GN_WEIGHTS, GN_MEANS, GN_SCALES,
                                         GN_SHAPES))[0]
    np.testing.assert_allclose(density, gn_pdf(grid), rtol=1e-10)
    assert np.trapezoid(density, grid) == pytest.approx(1.0, abs=1e-6)
    for q in (0.01, 0.3, 0.5, 0.97):
        t = mixture_quantile(q, GN_WEIGHTS, GN_MEANS, GN_SCALES, GN_SHAPES)[0, 0]
        assert gn_cdf(t) == pytest.approx(q, abs=1e-10)
    # the mode: on the flat top of the beta = 9 component (any point of its plateau
    # within the grid's resolution of the density's maximum)
    mode = mixture_mode(GN_WEIGHTS, GN_MEANS, GN_SCALES, GN_SHAPES)[0, 0]
    assert gn_pdf(mode) == pytest.approx(gn_pdf(grid).max(), rel=1e-6)
    # a peaked (beta = 1.3) component that dominates: the mode is at its mean
    peaked = mixture_mode(GN_WEIGHTS[:, ::-1], GN_MEANS, GN_SCALES / [[[1.0], [4.0]]],
                          GN_SHAPES)[0, 0]
    assert peaked == pytest.approx(-2.0, abs=1e-6)


def test_generalized_normal_sample_follows_the_mixture():
    draws = mixture_sample(GN_WEIGHTS, GN_MEANS, GN_SCALES, GN_SHAPES, n_samples=20000,
                           rng=np.random.RandomState(0))[0, :, 0]
    assert stats.kstest(draws, gn_cdf).pvalue > 0.01
    assert stats.kstest(draws + 0.1, gn_cdf).pvalue < 1e-6   # the test has power


def uniform_branches(n=400, seed=0):
    """t uniform on [-1, 1] whatever x: the flat top one generalized normal fits."""
    rng = np.random.RandomState(seed)
    return rng.uniform(0, 1, size=(n, 1)), rng.uniform(-1, 1, size=n)


def test_generalized_normal_estimator_learns_a_flat_top():
    X, y = uniform_branches()
    X_test, y_test = uniform_branches(2000, seed=1)
    kw = dict(n_components=1, hidden_layer_sizes=(8,), alpha=1e-3, max_iter=300, random_state=0)
    gn = MixtureDensityRegressor(component="generalized_normal", **kw).fit(X, y)
    gauss = MixtureDensityRegressor(**kw).fit(X, y)
    weights, means, scales, shapes = gn.predict_mixture(X_test[:5])
    assert weights.shape == (5, 1) and means.shape == scales.shape == shapes.shape == (5, 1, 1)
    assert np.all(shapes > 4)                                # flat-topped
    # the Bayes optimum is log 2 = 0.693; one Gaussian can do no better than 0.870
    nll, nll_gauss = -gn.log_likelihood(X_test, y_test).mean(), -gauss.log_likelihood(
        X_test, y_test).mean()
    assert nll < 0.75 < 0.86 < nll_gauss
    # every method sees the same density
    grid = np.linspace(-3, 3, 6001)
    density = np.exp(gn.log_likelihood(np.repeat(X_test[:1], grid.size, 0), grid))
    assert np.trapezoid(density, grid) == pytest.approx(1.0, abs=1e-5)
    expected = stats.gennorm.pdf(grid, shapes[0, 0, 0], means[0, 0, 0], scales[0, 0, 0])
    normal = expected > 1e-300                               # not float64's subnormals
    np.testing.assert_allclose(density[normal], expected[normal], rtol=1e-8)
    q = gn.predict_quantile(X_test[:1], [0.1, 0.9])[0]
    np.testing.assert_allclose(q, stats.gennorm.ppf([0.1, 0.9], shapes[0, 0, 0], means[0, 0, 0],
                                                     scales[0, 0, 0]), atol=1e-8)
    draws = gn.sample(X_test[:1], 4000, random_state=0)[0]
    assert stats.kstest(draws, stats.gennorm(shapes[0, 0, 0], means[0, 0, 0],
                                             scales[0, 0, 0]).cdf).pvalue > 0.01
    assert abs(gn.predict_mode(X_test[:1])[0]) < 1.0


@pytest.mark.parametrize("covariance_type", ["diag", "spherical"])
def test_generalized_normal_multi_output(covariance_type):
    X, y = inverse_problem(200)
    Y = np.column_stack([y, -2 * y])
    mdn = MixtureDensityRegressor(n_components=2, component="generalized_normal",
                                  covariance_type=covariance_type, **FAST).fit(X, Y)
    weights, means, scales, shapes = mdn.predict_mixture(X[:4])
    assert means.shape == scales.shape == shapes.shape == (4, 2, 2)
    if covariance_type == "spherical":
        np.testing.assert_allclose(shapes[:, :, 0], shapes[:, :, 1], rtol=0)
    expected = np.log(sum(
        weights[:, k] * np.prod(stats.gennorm.pdf(Y[:4], shapes[:, k], means[:, k],
                                                  scales[:, k]), axis=1) for k in range(2)))
    np.testing.assert_allclose(mdn.log_likelihood(X[:4], Y[:4]), expected, rtol=1e-8)
    assert mdn.predict(X[:4]).shape == mdn.predict_mode(X[:4]).shape == (4, 2)
    assert mdn.sample(X[:4], 3, random_state=0).shape == (4, 3, 2)
    assert mdn.predict_quantile(X[:4], [0.1, 0.9]).shape == (4, 2, 2)
    with pytest.raises(ValueError, match="component"):
        MixtureDensityRegressor(component="student").fit(X, y)


@pytest.mark.parametrize("pooled", [{"n_estimators": 2}, {"dropout": 0.2, "mc_dropout": 3}])
def test_generalized_normal_pools_members_and_passes(pooled):
    # members (n_estimators) and MC-dropout passes pool their shapes with their components
    X, y = inverse_problem(150)
    mdn = MixtureDensityRegressor(n_components=2, component="generalized_normal",
                                  **{**FAST, "max_iter": 20, **pooled}).fit(X, y)
    torch.manual_seed(0)
    weights, means, scales, shapes = mdn.predict_mixture(X[:6])
    assert weights.shape == (6, 2 * (pooled.get("n_estimators", 1) * pooled.get("mc_dropout", 1)))
    assert means.shape == scales.shape == shapes.shape == weights.shape + (1,)
    np.testing.assert_allclose(weights.sum(axis=1), 1.0, rtol=1e-12)
    expected = np.log(sum(weights[:, k] * stats.gennorm.pdf(y[:6], shapes[:, k, 0],
                                                             means[:, k, 0], scales[:, k, 0])
                          for k in range(weights.shape[1])))
    torch.manual_seed(0)
    np.testing.assert_allclose(mdn.log_likelihood(X[:6], y[:6]), expected, rtol=1e-8)


# ------------------------------------------------------- noise regularization
def _spy_on_noise(monkeypatch):
    """Record (clean inputs, noisy inputs, clean target, noisy target) of every training step."""
    from skneural._core.regularizers import Regularizer
    steps, add_noise = [], Regularizer.add_noise

    def spy(self, inputs, target):
        noisy = add_noise(self, inputs, target)
        steps.append((inputs[0].detach().clone(), noisy[0][0].detach().clone(),
                      target.detach().clone(), noisy[1].detach().clone()))
        return noisy

    monkeypatch.setattr(Regularizer, "add_noise", spy)
    return steps


@pytest.mark.parametrize("scale_target", [True, False])
def test_noise_regularization_draws_fresh_noise_of_the_set_scale(monkeypatch, scale_target):
    # Rothfuss et al.: new noise at every step, h standard deviations of each column
    steps = _spy_on_noise(monkeypatch)
    rng = np.random.default_rng(0)
    X = rng.normal(size=(600, 3)) * [1.0, 10.0, 100.0]
    y = 50.0 * X[:, 0] + 7.0 * rng.normal(size=600)
    mdn = MixtureDensityRegressor(noise_regularization=0.3, max_iter=3, batch_size=600,
                                  shuffle=False, scale_target=scale_target,
                                  random_state=0).fit(X, y)
    assert mdn.solver_ == "adam"   # "auto" does not hand a random objective to L-BFGS
    assert len(steps) == 3
    for x, x_noisy, t, t_noisy in steps:
        np.testing.assert_allclose((x_noisy - x).std(0).numpy() / X.std(0), 0.3, rtol=0.1)
        np.testing.assert_allclose((t_noisy - t).std().item(), 0.3 * (t.std().item()), rtol=0.1)
    assert not torch.equal(steps[0][1], steps[1][1])           # fresh noise, same clean rows
    torch.testing.assert_close(steps[0][0], steps[1][0])
    # off by default: the data go in untouched and the defaults keep their L-BFGS
    steps.clear()
    plain = MixtureDensityRegressor(max_iter=3, random_state=0).fit(X, y)
    assert plain.solver_ == "lbfgs" and plain._training_noise() is None
    assert all(torch.equal(x, x_noisy) and torch.equal(t, t_noisy)
               for x, x_noisy, t, t_noisy in steps)


def test_noise_regularization_auto_rule_and_refusals():
    X, y = inverse_problem(200)
    mdn = MixtureDensityRegressor(noise_regularization="auto")
    assert mdn.noise_std(1000, 6) == pytest.approx(0.5 * 1000 ** (-0.1))
    assert mdn.noise_std(10 ** 6, 6) < mdn.noise_std(1000, 6)          # shrinks with n
    assert MixtureDensityRegressor(noise_regularization=0.2).noise_std(10, 1) == 0.2
    assert MixtureDensityRegressor().noise_std(10, 1) == 0.0
    mdn.set_params(**FAST).fit(X, y)
    x_std, y_std, step = mdn._training_noise()
    assert step is None
    h = 0.5 * 200 ** (-1 / (4 + 2))                                  # one input, one output
    np.testing.assert_allclose(x_std, h * X.std(0), rtol=1e-10)
    np.testing.assert_allclose(y_std, h, rtol=1e-10)                  # standardized target
    with pytest.raises(ValueError, match="noise_regularization.*lbfgs"):
        MixtureDensityRegressor(noise_regularization="auto", solver="lbfgs").fit(X, y)
    with pytest.raises(ValueError, match="noise_regularization"):
        MixtureDensityRegressor(noise_regularization=-0.1).fit(X, y)
    with pytest.raises(ValueError, match="noise_regularization"):
        MixtureDensityRegressor(noise_regularization="silverman").fit(X, y)
    # two outputs, each its own target scale (spherical shares one internal scale)
    Y = np.column_stack([y, 100.0 * y + X[:, 0]])
    for covariance_type in ("diag", "spherical"):
        two = MixtureDensityRegressor(noise_regularization=0.1, dequantize=0.5,
                                      covariance_type=covariance_type, **FAST).fit(X, Y)
        x_std, y_std, step = two._training_noise()
        np.testing.assert_allclose(y_std * two._y_scale, 0.1 * Y.std(0), rtol=1e-10)
        np.testing.assert_allclose(step * two._y_scale, 0.5, rtol=1e-10)
        assert np.isfinite(two.log_likelihood(X, Y)).all()
    # a warm start reads the changed setting: off means no noise on the next fit
    mdn.set_params(noise_regularization=None, warm_start=True)
    assert mdn._training_noise() is None


def test_noise_regularization_improves_held_out_likelihood_on_a_small_table():
    # 150 rows, 4 inputs, heteroscedastic noise: the same Adam fit overfits without it
    rng = np.random.default_rng(0)
    X = rng.normal(size=(2150, 4))
    y = np.sin(2 * X[:, 0]) + 0.3 * rng.normal(size=2150) * (1 + np.abs(X[:, 1]))
    fit = {"solver": "adam", "alpha": 1e-4, "max_iter": 300, "batch_size": 50, "random_state": 0}
    plain = MixtureDensityRegressor(**fit).fit(X[:150], y[:150])
    noisy = MixtureDensityRegressor(noise_regularization="auto", **fit).fit(X[:150], y[:150])
    gain = (noisy.log_likelihood(X[150:], y[150:]).mean()
            - plain.log_likelihood(X[150:], y[150:]).mean())
    assert gain > 0.3


def test_dequantize_adds_one_step_of_uniform_noise_and_stops_spikes(monkeypatch):
    # integer scores 3..8 that the inputs barely explain (Wine quality's situation)
    rng = np.random.default_rng(0)
    X = rng.normal(size=(600, 2))
    y = np.clip(np.round(5.5 + 0.5 * X[:, 0] + rng.normal(size=600)), 3, 8)
    fit = {"solver": "adam", "alpha": 1e-4, "max_iter": 200, "random_state": 0}
    steps = _spy_on_noise(monkeypatch)
    mdn = MixtureDensityRegressor(dequantize=1.0, **fit).fit(X, y)
    assert mdn._training_noise()[:2] == (None, None)
    added = np.concatenate([(noisy - t).numpy().ravel() for _, _, t, noisy in steps[:20]])
    added = added * mdn._y_scale[0]                                    # back in score units
    assert stats.kstest(added, stats.uniform(-0.5, 1.0).cdf).pvalue > 1e-3
    # the density is then flat within each step (a probability per unit step), where
    # without it components spike on the integers: compare log p at y and at y + 1/4
    def spike(model):
        return np.mean(model.log_likelihood(X, y) - model.log_likelihood(X, y + 0.25))

    assert spike(mdn) < 0.1
    assert spike(MixtureDensityRegressor(**fit).fit(X, y)) > 0.5
    assert mdn.log_likelihood(X, y).mean() < 0.0        # minus an entropy, at most 0
    with pytest.raises(ValueError, match="dequantize"):
        MixtureDensityRegressor(dequantize=1.0, solver="lbfgs").fit(X, y)
    with pytest.raises(ValueError, match="dequantize"):
        MixtureDensityRegressor(dequantize=0.0).fit(X, y)
