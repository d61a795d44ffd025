"""Multi-layer perceptrons: drop-ins for sklearn's MLPClassifier and MLPRegressor."""

from numbers import Integral, Real

import numpy as np
import torch
from sklearn.base import ClassifierMixin, RegressorMixin
from sklearn.metrics import r2_score

from .._core.base import BaseNeuralEstimator
from .._core.classifier import NeuralClassifierMixin
from .._core.docs import fill_doc
from .._core.losses import OUTPUT_ACTIVATIONS
from .._core.networks import (
    ACTIVATIONS,
    INITIALIZERS,
    MLP,
    NORMALIZATIONS,
    init_weights,
    manual_backprop,
    numpy_forward,
    supports_manual_backprop,
    supports_numpy_forward,
)
from .._core.regressor import NeuralRegressorMixin, weighted_moments
from .._core.typing import Input, NDArray

NUMPY_PREDICT_ROWS = 64  # up to this many rows, predict runs the plain MLP in numpy
from .._core.regularizers import REGULARIZATION_CONSTRAINTS
from .._core.validation import Interval, StrOptions


class _BaseMLP(BaseNeuralEstimator):
    """Parameters and network shared by the two MLP estimators."""

    _parameter_constraints: dict = {
        **BaseNeuralEstimator._parameter_constraints,
        "hidden_layer_sizes": ["array-like", Interval(Integral, 1, None, closed="left")],
        "activation": [StrOptions(set(ACTIVATIONS))],
        "dropout": [Interval(Real, 0, 1, closed="left"), "array-like"],
        "batch_norm": ["boolean"],
        "normalization": [None, StrOptions(set(NORMALIZATIONS))],
        "init": [StrOptions({"auto", *INITIALIZERS})],
        "mc_dropout": [Interval(Integral, 0, None, closed="left")],
        **REGULARIZATION_CONSTRAINTS,
    }

    def __init__(self, hidden_layer_sizes=(100,), activation="relu", *, solver="adam",
                 alpha=0.0001, batch_size="auto", learning_rate="constant",
                 learning_rate_init=0.001, power_t=0.5, max_iter=200, shuffle=True,
                 random_state=None, tol=1e-4, verbose=False, warm_start=False,
                 momentum=0.9, nesterovs_momentum=True, early_stopping=False,
                 validation_fraction=0.1, beta_1=0.9, beta_2=0.999, epsilon=1e-8,
                 n_iter_no_change=10, max_fun=15000, dropout=0.0, batch_norm=False,
                 normalization=None, init="auto", clip_grad_norm=None, device="cpu",
                 n_threads=None, mc_dropout=0, alpha_l1=0.0, alpha_lp=0.0, lp_exponent=0.5,
                 layer_alphas=None, soft_sharing=0.0, soft_sharing_components=3,
                 jacobian_penalty=0.0, input_noise=0.0, weight_noise=0.0, dropconnect=0.0,
                 adversarial=0.0, adversarial_eps=0.1, penalty_start_epoch=0):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.solver = solver
        self.alpha = alpha
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.learning_rate_init = learning_rate_init
        self.power_t = power_t
        self.max_iter = max_iter
        self.shuffle = shuffle
        self.random_state = random_state
        self.tol = tol
        self.verbose = verbose
        self.warm_start = warm_start
        self.momentum = momentum
        self.nesterovs_momentum = nesterovs_momentum
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.n_iter_no_change = n_iter_no_change
        self.max_fun = max_fun
        self.dropout = dropout
        self.batch_norm = batch_norm
        self.normalization = normalization
        self.init = init
        self.clip_grad_norm = clip_grad_norm
        self.device = device
        self.n_threads = n_threads
        self.mc_dropout = mc_dropout
        self.alpha_l1 = alpha_l1
        self.alpha_lp = alpha_lp
        self.lp_exponent = lp_exponent
        self.layer_alphas = layer_alphas
        self.soft_sharing = soft_sharing
        self.soft_sharing_components = soft_sharing_components
        self.jacobian_penalty = jacobian_penalty
        self.input_noise = input_noise
        self.weight_noise = weight_noise
        self.dropconnect = dropconnect
        self.adversarial = adversarial
        self.adversarial_eps = adversarial_eps
        self.penalty_start_epoch = penalty_start_epoch

    def _hidden_sizes(self):
        sizes = self.hidden_layer_sizes
        sizes = list(sizes) if hasattr(sizes, "__iter__") else [sizes]
        if any(int(s) <= 0 for s in sizes):
            raise ValueError(f"hidden_layer_sizes must be > 0, got {sizes}.")
        return [int(s) for s in sizes]

    def _normalization(self):
        if self.batch_norm and self.normalization not in (None, "batch"):
            raise ValueError(
                f"batch_norm=True conflicts with normalization={self.normalization!r}; "
                "set one of them."
            )
        return "batch" if self.batch_norm else self.normalization

    def _build_module(self, n_features):
        module = MLP(n_features, self._hidden_sizes(), self.n_outputs_,
                     activation=self.activation, normalization=self._normalization(),
                     dropout=self.dropout)
        init_weights(module, self.init, self.activation)
        return module


    def _raw_output(self, X, module=None, dropout_on=False):
        # a few rows through a plain network on the CPU: numpy beats torch's per-op dispatch
        module = self.module_ if module is None else module
        if (X.shape[0] <= NUMPY_PREDICT_ROWS and not dropout_on
                and supports_numpy_forward(module, self.activation)
                and next(module.parameters()).device.type == "cpu"):
            dtype = np.float32 if self._dtype == torch.float32 else np.float64
            raw = numpy_forward(module, np.asarray(X, dtype=dtype), self.activation)
            if np.isfinite(raw).all():
                return torch.from_numpy(raw.astype(np.float64))
        return super()._raw_output(X, module, dropout_on)  # which also refuses non-finite

    def _manual_step(self):
        # models with their own loss (the MDN) set no _loss_name and keep autograd
        module, activation = self.module_, self.activation
        loss_name = getattr(self, "_loss_name", None)
        if not supports_manual_backprop(module, activation, loss_name):
            return None
        return lambda inputs, target, weight, decay: manual_backprop(
            module, inputs[0], target, weight, loss_name, activation, decay)

    @property
    def coefs_(self) -> list[NDArray]:
        """Weight matrices, ``coefs_[i]`` of shape ``(n_in, n_out)`` as in sklearn."""
        return [layer.weight.detach().cpu().numpy().T for layer in self.module_.linear_layers()]

    @property
    def intercepts_(self) -> list[NDArray]:
        """Bias vectors, ``intercepts_[i]`` of shape ``(n_out,)`` as in sklearn."""
        return [layer.bias.detach().cpu().numpy() for layer in self.module_.linear_layers()]

    @property
    def n_layers_(self) -> int:
        """Number of layers, input and output included, as in sklearn."""
        return len(self.module_.linear_layers()) + 1


@fill_doc
class MLPClassifier(NeuralClassifierMixin, ClassifierMixin, _BaseMLP):
    """Multi-layer perceptron classifier on a PyTorch backend.

    A drop-in for :class:`sklearn.neural_network.MLPClassifier` (same
    parameters, same fitted attributes) that adds dropout, batch or layer
    normalization, more optimizers and a ``device``. Binary problems use one
    sigmoid output, multiclass a softmax, multilabel (indicator ``y``) one
    independent sigmoid per label; the network emits logits and
    probabilities appear only in :meth:`predict_proba`.

    Parameters
    ----------
    hidden_layer_sizes : array-like of shape (n_layers - 2,), default=(100,)
        Width of each hidden layer.

    activation : {"relu", "identity", "logistic", "tanh", "leaky_relu", "elu", \
"gelu", "silu", "softplus"}, default="relu"
        Hidden-layer activation.

    {engine_parameters}

    dropout : float or list of float, default=0.0
        Inverted-dropout rate after each hidden activation, one rate for all
        hidden layers or one per layer. Off in ``predict``.

    batch_norm : bool, default=False
        Shorthand for ``normalization="batch"``.

    normalization : {"batch", "layer"} or None, default=None
        Normalization after each hidden affine map, before the activation.
        Batch norm uses running statistics (unbiased variance) in ``predict``.

    init : {"auto", "glorot_uniform", "he_normal", "normal"}, default="auto"
        Weight initialisation; ``"auto"`` is sklearn's Glorot uniform,
        ``"he_normal"`` suits ReLU, ``"normal"`` is N(0, 0.01).

    {regularization_parameters}

    label_smoothing : float, default=0.0
        Train against targets ``1 - eps`` on the true class and
        ``eps / (K - 1)`` on each other class (seed 003).

    Attributes
    ----------
    classes_ : ndarray or list of ndarray
        Class labels.

    {engine_attributes}

    coefs_ : list of ndarray
        Weight matrices, ``coefs_[i]`` of shape ``(n_in, n_out)``.

    intercepts_ : list of ndarray
        Bias vectors.

    n_layers_ : int
        Number of layers including input and output.

    n_outputs_ : int
        Number of outputs.

    out_activation_ : str
        ``"logistic"`` or ``"softmax"``.

    See Also
    --------
    MLPRegressor : The regression counterpart.
    sklearn.neural_network.MLPClassifier : The numpy original.

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from skneural import MLPClassifier
    >>> X, y = load_iris(return_X_y=True)
    >>> clf = MLPClassifier(hidden_layer_sizes=(32,), dropout=0.1, batch_norm=True,
    ...                     max_iter=300, random_state=0).fit(X, y)
    >>> clf.predict_proba(X[:1]).shape
    (1, 3)
    """

    _parameter_constraints: dict = {
        **_BaseMLP._parameter_constraints,
        "label_smoothing": [Interval(Real, 0, 1, closed="left")],
    }

    def __init__(self, hidden_layer_sizes=(100,), activation="relu", *, solver="adam",
                 alpha=0.0001, batch_size="auto", learning_rate="constant",
                 learning_rate_init=0.001, power_t=0.5, max_iter=200, shuffle=True,
                 random_state=None, tol=1e-4, verbose=False, warm_start=False,
                 momentum=0.9, nesterovs_momentum=True, early_stopping=False,
                 validation_fraction=0.1, beta_1=0.9, beta_2=0.999, epsilon=1e-8,
                 n_iter_no_change=10, max_fun=15000, dropout=0.0, batch_norm=False,
                 normalization=None, init="auto", clip_grad_norm=None, device="cpu",
                 n_threads=None, mc_dropout=0, alpha_l1=0.0, alpha_lp=0.0, lp_exponent=0.5,
                 layer_alphas=None, soft_sharing=0.0, soft_sharing_components=3,
                 jacobian_penalty=0.0, input_noise=0.0, weight_noise=0.0, dropconnect=0.0,
                 adversarial=0.0, adversarial_eps=0.1, penalty_start_epoch=0,
                 label_smoothing=0.0):
        super().__init__(
            hidden_layer_sizes=hidden_layer_sizes, activation=activation, solver=solver,
            alpha=alpha, batch_size=batch_size, learning_rate=learning_rate,
            learning_rate_init=learning_rate_init, power_t=power_t, max_iter=max_iter,
            shuffle=shuffle, random_state=random_state, tol=tol, verbose=verbose,
            warm_start=warm_start, momentum=momentum, nesterovs_momentum=nesterovs_momentum,
            early_stopping=early_stopping, validation_fraction=validation_fraction,
            beta_1=beta_1, beta_2=beta_2, epsilon=epsilon, n_iter_no_change=n_iter_no_change,
            max_fun=max_fun, dropout=dropout, batch_norm=batch_norm,
            normalization=normalization, init=init, clip_grad_norm=clip_grad_norm,
            device=device, n_threads=n_threads, mc_dropout=mc_dropout, alpha_l1=alpha_l1,
            alpha_lp=alpha_lp, lp_exponent=lp_exponent, layer_alphas=layer_alphas,
            soft_sharing=soft_sharing, soft_sharing_components=soft_sharing_components,
            jacobian_penalty=jacobian_penalty, input_noise=input_noise,
            weight_noise=weight_noise, dropconnect=dropconnect, adversarial=adversarial,
            adversarial_eps=adversarial_eps, penalty_start_epoch=penalty_start_epoch,
        )
        self.label_smoothing = label_smoothing


@fill_doc
class MLPRegressor(NeuralRegressorMixin, RegressorMixin, _BaseMLP):
    """Multi-layer perceptron regressor on a PyTorch backend.

    A drop-in for :class:`sklearn.neural_network.MLPRegressor` with dropout,
    normalization, more optimizers and a ``device``. Single- and
    multi-output. Targets are standardized internally (``scale_target``), so
    unscaled targets in the hundreds train as well as standardized ones.

    Parameters
    ----------
    loss : {"squared_error", "poisson"}, default="squared_error"
        ``"squared_error"`` with an identity output, or the Poisson deviance
        with a log link (non-negative targets).

    hidden_layer_sizes : array-like of shape (n_layers - 2,), default=(100,)
        Width of each hidden layer.

    activation : {"relu", "identity", "logistic", "tanh", "leaky_relu", "elu", \
"gelu", "silu", "softplus"}, default="relu"
        Hidden-layer activation.

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

    scale_target : bool, default=True
        Standardize the targets of ``loss="squared_error"`` before training
        and undo it in ``predict``. ``loss_`` and ``loss_curve_`` are then in
        standardized units (sklearn reports them in the target's units).

    Attributes
    ----------
    {engine_attributes}

    coefs_ : list of ndarray
        Weight matrices, ``coefs_[i]`` of shape ``(n_in, n_out)``.

    intercepts_ : list of ndarray
        Bias vectors.

    n_layers_ : int
        Number of layers including input and output.

    n_outputs_ : int
        Number of outputs.

    out_activation_ : str
        ``"identity"`` or ``"exp"``.

    See Also
    --------
    MLPClassifier : The classification counterpart.
    sklearn.neural_network.MLPRegressor : The numpy original.

    Examples
    --------
    >>> from sklearn.datasets import load_diabetes
    >>> from skneural import MLPRegressor
    >>> X, y = load_diabetes(return_X_y=True)
    >>> reg = MLPRegressor(hidden_layer_sizes=(32,), max_iter=300, random_state=0).fit(X, y)
    >>> reg.score(X, y) > 0.4
    True
    """

    _parameter_constraints: dict = {
        **_BaseMLP._parameter_constraints,
        "loss": [StrOptions(set(("squared_error", "poisson")))],
        "scale_target": ["boolean"],
    }

    def __init__(self, loss="squared_error", hidden_layer_sizes=(100,), activation="relu", *,
                 solver="adam", alpha=0.0001, batch_size="auto", learning_rate="constant",
                 learning_rate_init=0.001, power_t=0.5, max_iter=200, shuffle=True,
                 random_state=None, tol=1e-4, verbose=False, warm_start=False,
                 momentum=0.9, nesterovs_momentum=True, early_stopping=False,
                 validation_fraction=0.1, beta_1=0.9, beta_2=0.999, epsilon=1e-8,
                 n_iter_no_change=10, max_fun=15000, dropout=0.0, batch_norm=False,
                 normalization=None, init="auto", clip_grad_norm=None, device="cpu",
                 n_threads=None, mc_dropout=0, alpha_l1=0.0, alpha_lp=0.0, lp_exponent=0.5,
                 layer_alphas=None, soft_sharing=0.0, soft_sharing_components=3,
                 jacobian_penalty=0.0, input_noise=0.0, weight_noise=0.0, dropconnect=0.0,
                 adversarial=0.0, adversarial_eps=0.1, penalty_start_epoch=0,
                 scale_target=True):
        super().__init__(
            hidden_layer_sizes=hidden_layer_sizes, activation=activation, solver=solver,
            alpha=alpha, batch_size=batch_size, learning_rate=learning_rate,
            learning_rate_init=learning_rate_init, power_t=power_t, max_iter=max_iter,
            shuffle=shuffle, random_state=random_state, tol=tol, verbose=verbose,
            warm_start=warm_start, momentum=momentum, nesterovs_momentum=nesterovs_momentum,
            early_stopping=early_stopping, validation_fraction=validation_fraction,
            beta_1=beta_1, beta_2=beta_2, epsilon=epsilon, n_iter_no_change=n_iter_no_change,
            max_fun=max_fun, dropout=dropout, batch_norm=batch_norm,
            normalization=normalization, init=init, clip_grad_norm=clip_grad_norm,
            device=device, n_threads=n_threads, mc_dropout=mc_dropout, alpha_l1=alpha_l1,
            alpha_lp=alpha_lp, lp_exponent=lp_exponent, layer_alphas=layer_alphas,
            soft_sharing=soft_sharing, soft_sharing_components=soft_sharing_components,
            jacobian_penalty=jacobian_penalty, input_noise=input_noise,
            weight_noise=weight_noise, dropconnect=dropconnect, adversarial=adversarial,
            adversarial_eps=adversarial_eps, penalty_start_epoch=penalty_start_epoch,
        )
        self.loss = loss
        self.scale_target = scale_target

    def _validate_targets(self, y, reset, sample_weight=None):
        y = self._targets_2d(y, reset)
        if reset:
            self._loss_name = self.loss
            self.out_activation_ = OUTPUT_ACTIVATIONS[self.loss]
            scale = self.scale_target and self.loss == "squared_error"
            mean, var = weighted_moments(y, sample_weight)
            std = np.sqrt(var)
            self._y_mean = mean if scale else np.zeros(y.shape[1])
            self._y_scale = np.where(std > 0, std, 1.0) if scale else np.ones(y.shape[1])
        if self.loss == "poisson" and np.any(y < 0):
            raise ValueError("loss='poisson' requires non-negative targets y.")
        return (y - self._y_mean) / self._y_scale

    def _output_from_raw(self, raw):
        raw = raw.numpy()
        pred = np.exp(raw) if self.loss == "poisson" else raw * self._y_scale + self._y_mean
        return pred.ravel() if pred.shape[1] == 1 else pred

    def _validation_score(self, module, inputs, target, weight):
        pred = self._output_from_raw(self._validation_output(module, inputs))
        y_true = target.cpu().numpy() * self._y_scale + self._y_mean
        w = None if weight is None else weight.cpu().numpy()
        return r2_score(y_true.reshape(pred.shape), pred, sample_weight=w)

    def predict(self, X: Input) -> NDArray:
        """Predicted targets.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        y : ndarray of shape (n_samples,) or (n_samples, n_outputs)
        """
        return np.mean([self._output_from_raw(raw) for raw in self._predict_raws(X)], axis=0)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags
