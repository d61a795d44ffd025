"""Mixture density network (Bishop, PRML 5.6) as an sklearn regressor."""

import math
from numbers import Integral, Real

import numpy as np
import torch
from sklearn.base import RegressorMixin
from sklearn.utils import check_array

from .._core.docs import fill_doc
from .._core.mlp_base import _BaseMLP
from .._core.networks import MLP, init_weights
from .._core.regressor import NeuralRegressorMixin, weighted_moments
from .._core.typing import ArrayLike, NDArray, RandomState
from .._core.validation import (
    Interval,
    StrOptions,
    check_is_fitted,
    check_random_state,
)
from .density import (
    COMPONENTS,
    STD_TRANSFORMS,
    mixture_log_prob,
    mixture_mean,
    mixture_mode,
    mixture_nll,
    mixture_quantile,
    mixture_sample,
    n_raw_outputs,
    split_raw,
)
from .modules import MemberStack


@fill_doc
class MixtureDensityRegressor(NeuralRegressorMixin, RegressorMixin, _BaseMLP):
    """Mixture density network: a neural conditional density estimator.

    An MLP maps ``x`` to the parameters of a Gaussian mixture over the
    targets (Bishop, PRML 5.6)::

        p(t | x) = sum_k pi_k(x) N(t | mu_k(x), diag(sigma_k(x)^2))

    (or a mixture of flat-topped generalized normals, ``component``)

    with ``pi`` from a softmax, ``mu`` linear and ``sigma`` from ``exp`` (or
    a softplus), and is trained on the negative log-likelihood, computed with
    log-sum-exp. Where one ``x`` has several plausible targets (inverse
    problems), a least-squares network averages the branches; the mixture
    keeps each one. Targets are standardized internally and every density
    this class reports is transformed back to the target's own units.

    Parameters
    ----------
    n_components : int, default=5
        Number of mixture components ``K``.

    component : {"gaussian", "generalized_normal"}, default="gaussian"
        Family of each component. ``"gaussian"`` is Bishop's. With
        ``"generalized_normal"`` each component is a product over outputs of
        generalized normal densities ``beta / (2 alpha Gamma(1/beta))
        exp(-|(t - mu) / alpha|^beta)`` (``scipy.stats.gennorm``) with a
        learned shape ``beta`` in ``[1, 16]`` per component (and per output
        for ``covariance_type="diag"``), starting from the Gaussian's 2: a
        large ``beta`` is flat-topped, so one component can fit a target
        spread uniformly over an interval, which takes several Gaussians.
        ``predict_mixture`` then also returns the shapes.

    covariance_type : {"diag", "spherical"}, default="diag"
        ``"spherical"`` is Bishop's ``sigma_k^2 I`` (one width per component,
        shared by all outputs); ``"diag"`` gives each output its own width.
        Identical for a single output.

    std_transform : {"exp", "softplus"}, default="exp"
        Map from the network's raw output to ``sigma``: Bishop's ``exp``, or
        ``softplus``, which grows linearly and so tolerates larger steps.

    min_std : float, default=1e-3
        Floor added to every ``sigma`` (every scale ``alpha`` of a
        generalized normal), in units of the standardized target
        (a fraction of the target's standard deviation). It stops a component
        collapsing onto one training point, where the likelihood is unbounded.

    n_estimators : int, default=1
        Number of independently initialised networks whose densities are
        averaged: ``p(t | x) = (1/M) sum_m p_m(t | x)``, a single mixture of
        ``n_estimators * n_components`` components (``predict_mixture`` and
        every other method see it as one). The members are trained side by
        side on the same batches, each on its own negative log-likelihood
        (the training loss is their sum, so each member's objective is that
        of a single fit); averaging reduces the variance of the fitted
        density. With the ``"adam"`` or ``"sgd"`` solvers, ``shuffle=False``
        and no ``clip_grad_norm``, member ``m`` ends exactly where a single
        fit from the same initial weights would (member 0 starts from the
        weights of the single fit with the same ``random_state``);
        ``"lbfgs"`` optimises the sum jointly.
        Costs about ``n_estimators`` times the compute of one fit.

    hidden_layer_sizes : array-like of shape (n_layers - 2,), default=(32, 32)
        Width of each hidden layer.

    activation : {"tanh", "relu", "identity", "logistic", "leaky_relu", "elu", \
"gelu", "silu", "softplus"}, default="tanh"
        Hidden-layer activation (Bishop's MDN uses tanh).

    {engine_parameters}

    dropout : float or list of float, default=0.0
        Inverted-dropout rate after each hidden activation. Off in ``predict``.

    batch_norm : bool, default=False
        Shorthand for ``normalization="batch"``.

    normalization : {"batch", "layer"} or None, default=None
        Normalization after each hidden affine map, before the activation.

    init : {"auto", "glorot_uniform", "he_normal", "normal"}, default="auto"
        Weight initialisation.

    {regularization_parameters}

    {categorical_parameters}

    noise_regularization : None, "auto" or float, default=None
        Noise regularization (Rothfuss et al. 2019, "Noise Regularization for
        Conditional Density Estimation"): every training step adds fresh
        Gaussian noise to the inputs and the targets, with a standard
        deviation ``h`` in units of each numeric column's (and each
        target's) standard deviation on the training rows. Categorical
        codes are not perturbed. A float is ``h`` itself; ``"auto"`` is
        their rule of thumb ``h = 0.5 * n ** (-1 / (4 + d))`` for ``n``
        training rows and ``d`` numeric inputs plus outputs (see
        ``noise_std``), which shrinks as data grow. It smooths the fitted
        density the way a kernel bandwidth does, and so also stops
        components spiking on integer-valued targets. Draws random numbers
        in every step, so ``solver="auto"`` picks Adam and ``"lbfgs"`` is
        refused. ``loss_curve_`` is then the loss on the noisy data.

    dequantize : float or None, default=None
        The step of a quantized target (1 for integer scores): every training
        step adds fresh uniform noise on ``[-dequantize / 2, dequantize / 2]``
        (in the target's units) to the targets, so the fitted density is that
        of the dequantized target (Theis et al. 2016). Without it, components
        can shrink onto the integer values of a discrete target until only
        ``min_std`` bounds the likelihood; with it, the density at an integer
        ``y`` estimates the probability of that score per unit step. Draws
        random numbers in every step (Adam, as ``noise_regularization``).

    scale_target : bool, default=True
        Standardize the targets before training. The densities, samples and
        predictions are always reported in the target's units.

    Attributes
    ----------
    {engine_attributes}

    {categorical_attributes}

    n_outputs_ : int
        Number of target columns ``D``.

    Notes
    -----
    ``loss_`` and ``loss_curve_`` are the training negative log-likelihood
    per sample in nats *in the target's units* (the log-Jacobian of the
    internal standardization is included), plus the L2 penalty, summed over
    the ``n_estimators`` members; with early stopping, ``validation_scores_``
    are the mean validation log-likelihood of the averaged density.

    The defaults (``solver="auto"``, ``max_iter="auto"``, ``alpha=1.0``) fit
    up to 10,000 rows with full-batch L-BFGS for 2,000 iterations and a
    strong L2 penalty; larger data, early stopping, ``partial_fit`` or a
    random regularizer switch to Adam. Chosen on fresh draws of the seed
    deck's inverse problems (``benchmarks/bench_mdn.py``, RESULTS), where
    Adam at any budget tried stayed 0.19 nats or more above the Bayes
    optimum and L-BFGS reached about 0.06. An L2 strength of 1 is large by
    sklearn's standards (0.0001): set ``alpha`` lower for data that need a
    sharper density.

    Those defaults overfit small real tables (a few hundred rows, many
    inputs): on the UCI regression sets, ``noise_regularization`` with
    ``alpha=0.001``, its ``h`` chosen by ``GridSearchCV`` with
    ``log_likelihood_scorer`` over ``[0.01, 0.03, 0.1]``, did better on the
    held-out folds of every set (``benchmarks/bench_uci.py``, RESULTS).

    See Also
    --------
    MLPRegressor : Least-squares regression, one prediction per input.
    log_likelihood_scorer : Select models by held-out log-likelihood.

    Examples
    --------
    >>> import numpy as np
    >>> from skneural import MixtureDensityRegressor
    >>> rng = np.random.RandomState(0)
    >>> y = rng.uniform(-10.5, 10.5, 500)
    >>> X = (7 * np.sin(0.75 * y) + 0.5 * y + rng.normal(size=500)).reshape(-1, 1)
    >>> mdn = MixtureDensityRegressor(n_components=3, max_iter=50, random_state=0).fit(X, y)
    >>> weights, means, stds = mdn.predict_mixture(X[:2])
    >>> weights.shape, means.shape, stds.shape
    ((2, 3), (2, 3, 1), (2, 3, 1))
    """

    _parameter_constraints: dict = {
        **_BaseMLP._parameter_constraints,
        "n_components": [Interval(Integral, 1, None, closed="left")],
        "component": [StrOptions(set(COMPONENTS))],
        "covariance_type": [StrOptions({"diag", "spherical"})],
        "std_transform": [StrOptions(set(STD_TRANSFORMS))],
        "min_std": [Interval(Real, 0, None, closed="left")],
        "n_estimators": [Interval(Integral, 1, None, closed="left")],
        "noise_regularization": [None, StrOptions({"auto"}),
                                 Interval(Real, 0, None, closed="left")],
        "dequantize": [None, Interval(Real, 0, None, closed="neither")],
        "scale_target": ["boolean"],
    }

    #: noise_regularization="auto": h = _AUTO_NOISE_FACTOR * n ** (-1 / (4 + d))
    _AUTO_NOISE_FACTOR = 0.5

    # solver="auto" fits up to 10,000 rows with full-batch L-BFGS, which on the seed's
    # inverse problems converged where Adam did not (RESULTS, issue 19); its budget:
    _AUTO_LBFGS_ITER = 2000

    def __init__(self, n_components=5, *, component="gaussian", covariance_type="diag",
                 std_transform="exp",
                 min_std=1e-3, n_estimators=1, hidden_layer_sizes=(32, 32), activation="tanh",
                 solver="auto", alpha=1.0, batch_size="auto", learning_rate="constant",
                 learning_rate_init=0.001, power_t=0.5, max_iter="auto", shuffle=True,
                 random_state=None, tol=1e-4, verbose=False, warm_start=False,
                 momentum=0.9, nesterovs_momentum=True, early_stopping=False,
                 validation_fraction=0.1, scoring="loss", weight_averaging=None,
                 averaging_start=0.75, averaging_decay=0.999, beta_1=0.9, beta_2=0.999, epsilon=1e-8,
                 n_iter_no_change=10, max_fun=15000, dropout=0.0, batch_norm=False,
                 normalization=None, init="auto", clip_grad_norm=None, device="cpu",
                 n_threads="auto", precision=None, deterministic=False,
                 mc_dropout=0, alpha_l1=0.0, alpha_lp=0.0, lp_exponent=0.5,
                 layer_alphas=None, soft_sharing=0.0, soft_sharing_components=3,
                 jacobian_penalty=0.0, input_noise=0.0, weight_noise=0.0, dropconnect=0.0,
                 adversarial=0.0, adversarial_eps=0.1, penalty_start_epoch=0,
                 categorical_features="from_dtype", embedding_dim="auto",
                 noise_regularization=None, dequantize=None, scale_target=True):
        super().__init__(
            hidden_layer_sizes=hidden_layer_sizes, activation=activation, solver=solver,
            alpha=alpha, batch_size=batch_size, learning_rate=learning_rate,
            learning_rate_init=learning_rate_init, power_t=power_t, max_iter=max_iter,
            shuffle=shuffle, random_state=random_state, tol=tol, verbose=verbose,
            warm_start=warm_start, momentum=momentum, nesterovs_momentum=nesterovs_momentum,
            early_stopping=early_stopping, validation_fraction=validation_fraction,
            scoring=scoring, weight_averaging=weight_averaging,
            averaging_start=averaging_start, averaging_decay=averaging_decay,
            beta_1=beta_1, beta_2=beta_2, epsilon=epsilon, n_iter_no_change=n_iter_no_change,
            max_fun=max_fun, dropout=dropout, batch_norm=batch_norm,
            normalization=normalization, init=init, clip_grad_norm=clip_grad_norm,
            device=device, n_threads=n_threads, precision=precision,
            deterministic=deterministic, mc_dropout=mc_dropout, alpha_l1=alpha_l1,
            alpha_lp=alpha_lp, lp_exponent=lp_exponent, layer_alphas=layer_alphas,
            soft_sharing=soft_sharing, soft_sharing_components=soft_sharing_components,
            jacobian_penalty=jacobian_penalty, input_noise=input_noise,
            weight_noise=weight_noise, dropconnect=dropconnect, adversarial=adversarial,
            adversarial_eps=adversarial_eps, penalty_start_epoch=penalty_start_epoch,
            categorical_features=categorical_features, embedding_dim=embedding_dim,
        )
        self.n_components = n_components
        self.component = component
        self.covariance_type = covariance_type
        self.std_transform = std_transform
        self.min_std = min_std
        self.n_estimators = n_estimators
        self.noise_regularization = noise_regularization
        self.dequantize = dequantize
        self.scale_target = scale_target

    # ------------------------------------------------------------------ fit
    def _validate_targets(self, y, reset, sample_weight=None):
        return self._targets_2d(y, reset)

    def _learn_statistics(self, X, y, sample_weight):
        mean, var = weighted_moments(y, sample_weight)
        if self.covariance_type == "spherical":
            # one scale for all outputs keeps sigma^2 I isotropic in the target's units
            var = np.full_like(var, var.mean())
        std = np.sqrt(var)
        if not self.scale_target:
            mean, std = np.zeros_like(mean), np.ones_like(std)
        self._y_mean = mean
        self._y_scale = np.where(std > 0, std, 1.0)
        # log|dz/dy| of the standardization: log p(y) = log p(z) - sum_d log s_d
        self._log_jacobian = float(np.log(self._y_scale).sum())
        self._noise_base = self._noise_statistics(X, y, sample_weight)

    def _random_techniques(self):
        names = super()._random_techniques()
        return names + [name for name in ("noise_regularization", "dequantize")
                        if getattr(self, name)]

    def noise_std(self, n_samples: int, n_dims: int) -> float:
        """Standard deviation of the noise ``noise_regularization`` adds.

        Parameters
        ----------
        n_samples : int
            Number of training rows.
        n_dims : int
            Number of numeric input columns plus target columns.

        Returns
        -------
        h : float
            The noise's standard deviation in units of each column's
            standard deviation: ``noise_regularization`` when it is a
            number; for ``"auto"`` a scaled rule of thumb of Rothfuss et al.
            (2019), ``0.5 * n_samples ** (-1 / (4 + n_dims))``; 0 when off.
        """
        if not self.noise_regularization:
            return 0.0
        if self.noise_regularization == "auto":
            return self._AUTO_NOISE_FACTOR * n_samples ** (-1.0 / (4 + n_dims))
        return float(self.noise_regularization)

    def _noise_statistics(self, X, y, sample_weight):
        """What a fit's noise scales are made of: rows, input and target standard deviations."""
        numeric = self._split_columns(X)[0] if getattr(self, "_categories", None) else X
        x_std = np.sqrt(weighted_moments(numeric, sample_weight)[1])
        y_std = np.sqrt(weighted_moments(y, sample_weight)[1]) / self._y_scale  # trained units
        return X.shape[0], x_std, y_std

    def _training_noise(self):
        """What every training step adds to its batch, or ``None`` when nothing.

        ``(input std per numeric column, target std per output, target
        dequantization width per output)``, each in the units the network
        trains in, or ``None`` where off. Read by the regularizer at the start
        of every fit, so changed settings apply to a warm-started fit too.
        """
        base = getattr(self, "_noise_base", None)   # absent in a model saved before it existed
        if base is None and self.noise_regularization:
            raise ValueError("This model was fitted before noise_regularization existed and "
                             "lacks its training statistics; fit it anew (warm_start=False).")
        h = 0.0 if base is None else self.noise_std(base[0], base[1].shape[0] + base[2].shape[0])
        step = None if self.dequantize is None else self.dequantize / self._y_scale
        if h == 0 and step is None:
            return None
        return (None, None, step) if h == 0 else (h * base[1], h * base[2], step)

    def _scale_targets(self, y):
        return (y - self._y_mean) / self._y_scale

    def _build_module(self, n_features):
        n_raw = n_raw_outputs(self.n_components, self.n_outputs_, self.covariance_type,
                              self.component)
        members = []
        for _ in range(self.n_estimators):   # member 0 draws the weights a single fit would
            module = MLP(self._network_width(n_features), self._hidden_sizes(), n_raw,
                         activation=self.activation, normalization=self._normalization(),
                         dropout=self.dropout)
            init_weights(module, self.init, self.activation)
            members.append(self._with_embeddings(module))  # each member its own embeddings
        return members[0] if self.n_estimators == 1 else MemberStack(members)

    @property
    def n_layers_(self) -> int:
        """Number of layers of one member, input and output included, as in sklearn."""
        return len(self.module_.linear_layers()) // self.n_estimators + 1

    def _member_raws(self, raw):
        """The raw output of each member, ``(B, P)`` each."""
        return raw.chunk(self.n_estimators, dim=1) if self.n_estimators > 1 else (raw,)

    def _mixture_kwargs(self):
        return {"n_components": self.n_components, "covariance_type": self.covariance_type,
                "std_transform": self.std_transform, "min_std": self.min_std,
                "component": self.component}

    def _data_loss(self, raw, target, weight):
        # the constant Jacobian term changes no gradient; it puts loss_curve_ in
        # the target's units, comparable across scalings and with the literature
        kw = self._mixture_kwargs()
        # the sum of the members' own losses: each member's gradient is a single fit's
        return sum(mixture_nll(member, target, weight, **kw) + self._log_jacobian
                   for member in self._member_raws(raw))

    def _split_raw(self, raw):
        """Mixture parameters of the predictive density from raw outputs.

        ``raw`` is one pass's output or a list of ``mc_dropout`` passes'
        outputs. Members (``n_estimators``) and passes enter alike: their
        components are pooled with weights divided by their number.
        """
        kw = self._mixture_kwargs()
        raws = raw if isinstance(raw, list) else [raw]
        parts = [split_raw(member, kw["n_components"], self.n_outputs_, kw["covariance_type"],
                           kw["std_transform"], kw["min_std"], kw["component"])
                 for one_pass in raws for member in self._member_raws(one_pass)]
        if len(parts) == 1:
            return parts[0]
        log_weights, *rest = (torch.cat(p, dim=1) for p in zip(*parts))
        return (log_weights - math.log(len(parts)), *rest)

    def _log_prob_from_raw(self, raw, y_scaled):
        """Per-row ``log p(y | x)`` in the target's units, from raw outputs (float64)."""
        params = self._split_raw(raw)
        target = torch.as_tensor(y_scaled, dtype=params[1].dtype, device=params[1].device)
        return (mixture_log_prob(target, *params) - self._log_jacobian).numpy()

    def _score_from_raw(self, raw, target, weight):
        log_prob = self._log_prob_from_raw(raw, target.to("cpu", torch.float64))
        w = None if weight is None else weight.cpu().numpy()
        return float(np.average(log_prob, weights=w))

    # -------------------------------------------------------------- predict
    def _mixture_from_raw(self, raw):
        log_weights, means, log_std, *shape = self._split_raw(raw)
        weights = log_weights.exp().numpy()
        means = means.numpy() * self._y_scale + self._y_mean
        stds = np.exp(log_std.numpy()) * self._y_scale              # broadcasts (n, K, 1)
        mixture = (weights, means, np.broadcast_to(stds, means.shape).copy())
        if not shape:
            return mixture
        return (*mixture, np.broadcast_to(shape[0].numpy(), means.shape).copy())

    def _squeeze(self, values):
        """Drop the output axis for single-output models, like ``predict``."""
        return values[..., 0] if self.n_outputs_ == 1 else values

    def predict_mixture(self, X: ArrayLike) -> tuple[NDArray, ...]:
        """Parameters of the predictive mixture ``p(t | x)`` in the target's units.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        weights : ndarray of shape (n_samples, n_components * n_estimators)
            Mixing coefficients ``pi_k(x)``; each row sums to one (member
            ``m``'s components are columns ``m * n_components`` onwards,
            their weights scaled by ``1 / n_estimators``).
        means : ndarray of shape (n_samples, n_components * n_estimators, n_outputs)
            Component means ``mu_k(x)``.
        stds : ndarray of shape (n_samples, n_components * n_estimators, n_outputs)
            Component standard deviations per output (equal across outputs
            for ``covariance_type="spherical"``); for
            ``component="generalized_normal"`` the scales ``alpha`` (the
            standard deviation is ``alpha sqrt(Gamma(3/beta) / Gamma(1/beta))``).
        shapes : ndarray of shape (n_samples, n_components * n_estimators, n_outputs)
            Only for ``component="generalized_normal"``: the shapes ``beta``.
        """
        return self._mixture_from_raw(self._predict_raws(X))

    def predict(self, X: ArrayLike) -> NDArray:
        """Conditional mean ``E[t | x] = sum_k pi_k(x) mu_k(x)``.

        The least-squares prediction, so ``score`` is the R^2 of the mean.
        See :meth:`predict_mode` for the most probable value instead.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        y : ndarray of shape (n_samples,) or (n_samples, n_outputs)
        """
        weights, means = self.predict_mixture(X)[:2]
        return self._squeeze(mixture_mean(weights, means))

    def predict_mode(self, X: ArrayLike) -> NDArray:
        """Most probable target, ``argmax_t p(t | x)``.

        For multi-valued (inverse) problems this picks the dominant branch
        where the mean would fall between branches. Found by mean-shift from
        every component mean (iteratively reweighted for generalized normal
        components); exact up to the fixed point's convergence.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        y : ndarray of shape (n_samples,) or (n_samples, n_outputs)
        """
        return self._squeeze(mixture_mode(*self.predict_mixture(X)))

    def predict_quantile(self, X: ArrayLike, quantiles: float | ArrayLike = 0.5) -> NDArray:
        """Quantiles of each output's marginal predictive distribution.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        quantiles : float or array-like of float in (0, 1), default=0.5

        Returns
        -------
        q : ndarray
            Shape of ``predict`` for a scalar ``quantiles``; otherwise
            ``(n_samples, n_quantiles)`` or ``(n_samples, n_quantiles, n_outputs)``.
        """
        q = np.asarray(quantiles, dtype=np.float64)
        if q.ndim > 1 or not np.all((q > 0) & (q < 1)):
            raise ValueError(f"quantiles must be a float or 1-D array of floats in (0, 1), "
                             f"got {quantiles!r}.")
        mixture = self.predict_mixture(X)
        out = np.stack([mixture_quantile(qi, *mixture) for qi in np.atleast_1d(q)], axis=1)
        out = self._squeeze(out)
        return out[:, 0] if q.ndim == 0 else out

    def predict_interval(self, X: ArrayLike, coverage: float = 0.9) -> tuple[NDArray, NDArray]:
        """Central prediction interval per output, from the predictive quantiles.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        coverage : float in (0, 1), default=0.9
            Probability mass between the bounds: the interval runs from the
            ``(1 - coverage) / 2`` to the ``(1 + coverage) / 2`` quantile.

        Returns
        -------
        lower, upper : ndarrays of the shape of ``predict``
        """
        if not (isinstance(coverage, Real) and 0 < coverage < 1):
            raise ValueError(f"coverage must be a float in (0, 1), got {coverage!r}.")
        q = self.predict_quantile(X, [(1 - coverage) / 2, (1 + coverage) / 2])
        return q[:, 0], q[:, 1]

    def sample(self, X: ArrayLike, n_samples: int = 1,
               random_state: RandomState = None) -> NDArray:
        """Draw targets from ``p(t | x)`` for every row of ``X``.

        Parameters
        ----------
        X : array-like of shape (n_rows, n_features)
        n_samples : int, default=1
            Draws per row.
        random_state : int, RandomState instance or None, default=None

        Returns
        -------
        t : ndarray of shape (n_rows, n_samples) or (n_rows, n_samples, n_outputs)
        """
        if not isinstance(n_samples, Integral) or n_samples < 1:
            raise ValueError(f"n_samples must be a positive integer, got {n_samples!r}.")
        rng = check_random_state(random_state)
        return self._squeeze(mixture_sample(*self.predict_mixture(X), n_samples=int(n_samples),
                                            rng=rng))

    def log_likelihood(self, X: ArrayLike, y: ArrayLike) -> NDArray:
        """Per-sample log density ``log p(y_i | x_i)`` in nats, in the target's units.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)

        Returns
        -------
        log_prob : ndarray of shape (n_samples,)
            Average it (or use :func:`log_likelihood_scorer`) for the mean
            log-likelihood; its negative is the test NLL.
        """
        check_is_fitted(self)
        X = self._validate_X(X, reset=False)
        y = check_array(y, ensure_2d=False, dtype=np.float64, input_name="y")
        y = y.reshape(-1, 1) if y.ndim == 1 else y
        if y.shape != (X.shape[0], self.n_outputs_):
            raise ValueError(f"y must have shape ({X.shape[0]}, {self.n_outputs_}) to match "
                             f"X and the fitted outputs, got {y.shape}.")
        return self._log_prob_from_raw(self._predict_raws(X, validated=True),
                                       (y - self._y_mean) / self._y_scale)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags
