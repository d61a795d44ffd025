"""The estimator base of every dense network: the MLPs and the MDN build on it.

It holds the parameters of a multi-layer perceptron (widths, activation,
dropout, normalization, initialisation, the regularization catalogue), builds
the network, and adds the MLP's fast paths: a numpy forward pass for a few
rows at predict time and the hand-written backward pass for the plain loss.
"""

from numbers import Integral, Real

import numpy as np
import torch

from .base import BaseNeuralEstimator
from .networks import (
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
from .regularizers import REGULARIZATION_CONSTRAINTS
from .typing import NDArray
from .validation import Interval, StrOptions

NUMPY_PREDICT_ROWS = 64  # up to this many rows, predict runs the plain MLP in numpy


class _BaseMLP(BaseNeuralEstimator):
    """Parameters and network shared by the MLP estimators and the MDN."""

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
                 validation_fraction=0.1, scoring=None, weight_averaging=None,
                 averaging_start=0.75, averaging_decay=0.999, beta_1=0.9, beta_2=0.999, epsilon=1e-8,
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
        self.scoring = scoring
        self.weight_averaging = weight_averaging
        self.averaging_start = averaging_start
        self.averaging_decay = averaging_decay
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
