"""Multi-layer perceptrons: drop-ins for sklearn's MLPClassifier and MLPRegressor."""

from numbers import Real

import numpy as np
from sklearn.base import ClassifierMixin, RegressorMixin
from sklearn.metrics import r2_score

from .._core.classifier import NeuralClassifierMixin
from .._core.docs import fill_doc
from .._core.losses import OUTPUT_ACTIVATIONS
from .._core.mlp_base import _BaseMLP
from .._core.regressor import NeuralRegressorMixin, weighted_moments
from .._core.typing import Input, NDArray
from .._core.validation import Interval, StrOptions


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
        Batch norm normalizes with ``sample_weight``-weighted batch statistics
        in training and uses running statistics (unbiased variance) in
        ``predict``.

    init : {"auto", "glorot_uniform", "he_normal", "normal"}, default="auto"
        Weight initialisation; ``"auto"`` is sklearn's Glorot uniform,
        ``"he_normal"`` suits ReLU, ``"normal"`` is N(0, 0.01).

    {regularization_parameters}

    {categorical_parameters}

    label_smoothing : float, default=0.0
        Train against targets ``1 - eps`` on the true class and
        ``eps / (K - 1)`` on each other class (seed 003).

    {class_weight_parameter}

    Attributes
    ----------
    classes_ : ndarray or list of ndarray
        Class labels.

    {engine_attributes}

    {categorical_attributes}

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
        "class_weight": [None, dict, list, StrOptions({"balanced"})],
    }

    def __init__(self, hidden_layer_sizes=(100,), activation="relu", *, solver="adam",
                 alpha=0.0001, batch_size="auto", learning_rate="constant",
                 learning_rate_init=0.001, power_t=0.5, max_iter=200, shuffle=True,
                 random_state=None, tol=1e-4, verbose=False, warm_start=False,
                 momentum=0.9, nesterovs_momentum=True, early_stopping=False,
                 validation_fraction=0.1, scoring=None, weight_averaging=None,
                 averaging_start=0.75, averaging_decay=0.999, beta_1=0.9, beta_2=0.999, epsilon=1e-8,
                 n_iter_no_change=10, max_fun=15000, dropout=0.0, batch_norm=False,
                 normalization=None, init="auto", clip_grad_norm=None, device="cpu",
                 n_threads="auto", precision=None, deterministic=False,
                 mc_dropout=0, alpha_l1=0.0, alpha_lp=0.0, lp_exponent=0.5,
                 layer_alphas=None, soft_sharing=0.0, soft_sharing_components=3,
                 jacobian_penalty=0.0, input_noise=0.0, weight_noise=0.0, dropconnect=0.0,
                 adversarial=0.0, adversarial_eps=0.1, penalty_start_epoch=0,
                 categorical_features="from_dtype", embedding_dim="auto",
                 label_smoothing=0.0, class_weight=None):
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
        self.label_smoothing = label_smoothing
        self.class_weight = class_weight


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

    {categorical_parameters}

    scale_target : bool, default=True
        Standardize the targets of ``loss="squared_error"`` before training
        and undo it in ``predict``. ``loss_`` and ``loss_curve_`` are then in
        standardized units (sklearn reports them in the target's units).

    Attributes
    ----------
    {engine_attributes}

    {categorical_attributes}

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
                 scale_target=True):
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
        self.loss = loss
        self.scale_target = scale_target

    def _validate_targets(self, y, reset, sample_weight=None):
        y = self._targets_2d(y, reset)
        if reset:
            self._loss_name = self.loss
            self.out_activation_ = OUTPUT_ACTIVATIONS[self.loss]
        if self.loss == "poisson" and np.any(y < 0):
            raise ValueError("loss='poisson' requires non-negative targets y.")
        return y

    def _learn_statistics(self, X, y, sample_weight):
        scale = self.scale_target and self.loss == "squared_error"
        mean, var = weighted_moments(y, sample_weight)
        std = np.sqrt(var)
        self._y_mean = mean if scale else np.zeros(y.shape[1])
        self._y_scale = np.where(std > 0, std, 1.0) if scale else np.ones(y.shape[1])

    def _scale_targets(self, y):
        return (y - self._y_mean) / self._y_scale

    def _output_from_raw(self, raw):
        raw = raw.numpy()
        pred = np.exp(raw) if self.loss == "poisson" else raw * self._y_scale + self._y_mean
        return pred.ravel() if pred.shape[1] == 1 else pred

    def _score_from_raw(self, raw, target, weight):
        pred = self._output_from_raw(raw)
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
