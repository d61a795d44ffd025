"""The estimator base of every dense network: the MLPs and the MDN build on it.

It holds the parameters of a multi-layer perceptron (widths, activation,
dropout, normalization, initialisation, the regularization catalogue), builds
the network, and adds the MLP's fast paths: a numpy forward pass for a few
rows at predict time and the hand-written backward pass for the plain loss.
"""

from numbers import Integral, Real

import numpy as np
import scipy.sparse as sp
import torch
from sklearn.utils import check_consistent_length

from .base import BaseNeuralEstimator
from .networks import (
    ACTIVATIONS,
    INITIALIZERS,
    MLP,
    NORMALIZATIONS,
    init_weights,
    manual_backprop,
    manual_blocks,
    numpy_forward,
    supports_manual_backprop,
    supports_numpy_forward,
)
from .regularizers import REGULARIZATION_CONSTRAINTS
from .tabular import CategoricalCodes, TabularNet, auto_embedding_dim, categorical_mask
from .typing import NDArray
from .validation import Interval, StrOptions, as_tensor, check_array, validate_data

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
        "categorical_features": [None, StrOptions({"from_dtype"}), "array-like"],
        "embedding_dim": [StrOptions({"auto"}), Interval(Integral, 1, None, closed="left"),
                          dict],
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
                 n_threads="auto", precision=None, deterministic=False,
                 mc_dropout=0, alpha_l1=0.0, alpha_lp=0.0, lp_exponent=0.5,
                 layer_alphas=None, soft_sharing=0.0, soft_sharing_components=3,
                 jacobian_penalty=0.0, input_noise=0.0, weight_noise=0.0, dropconnect=0.0,
                 adversarial=0.0, adversarial_eps=0.1, penalty_start_epoch=0,
                 categorical_features="from_dtype", embedding_dim="auto"):
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
        self.precision = precision
        self.deterministic = deterministic
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
        self.categorical_features = categorical_features
        self.embedding_dim = embedding_dim

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
        module = MLP(self._network_width(n_features), self._hidden_sizes(), self.n_outputs_,
                     activation=self.activation, normalization=self._normalization(),
                     dropout=self.dropout)
        init_weights(module, self.init, self.activation)
        return self._with_embeddings(module)

    # ------------------------------------------------------ categorical columns
    # Validated rows hold the numeric columns, then one integer code per
    # categorical column (_core/tabular.py); the network embeds the codes.
    def _validate_X(self, X, reset):
        X = self._find_categorical(X) if reset else X
        if getattr(self, "_categories", None) is None:
            return super()._validate_X(X, reset)
        validate_data(self, X, reset=reset, skip_check_array=True)  # names, column count
        return self._encode(X, reset)

    def _validate_Xy(self, X, y, reset):
        X = self._find_categorical(X) if reset else X
        if getattr(self, "_categories", None) is None:
            return super()._validate_Xy(X, y, reset)
        validate_data(self, X, y, reset=reset, skip_check_array=True)  # names, column count
        y = check_array(y, accept_sparse="csr", ensure_2d=False, dtype=None, input_name="y",
                        estimator=self)  # as check_X_y(multi_output=True) checks y
        X = self._encode(X, reset)
        check_consistent_length(X, y)
        return X, y

    def _find_categorical(self, X):
        """Find ``X``'s categorical columns and learn their categories (``fit``)."""
        if not hasattr(X, "shape"):
            X = np.asarray(X, dtype=object)
        mask = None if len(X.shape) != 2 else categorical_mask(X, self.categorical_features)
        self.is_categorical_ = mask
        if mask is None:
            self._categories = None
            self.embedding_dims_ = []
            return X
        if sp.issparse(X):
            raise ValueError("categorical_features cannot be used with sparse X; encode the "
                             "categorical columns of a dense X instead.")
        names = getattr(X, "columns", None)
        names = [str(c) for c in names] if names is not None else list(range(X.shape[1]))
        self._categories = CategoricalCodes(mask, [n for n, m in zip(names, mask) if m]).fit(X)
        self.embedding_dims_ = self._embedding_dims(self._categories)
        return X

    def _embedding_dims(self, categories):
        """Each categorical column's embedding width from ``embedding_dim``."""
        dims = []
        for name, n_levels in zip(categories.names, categories.n_levels):
            width = self.embedding_dim
            if isinstance(width, dict):
                width = width.get(name, "auto")
            if isinstance(width, str):
                width = auto_embedding_dim(n_levels + 1)  # the categories and the missing value
            elif not (isinstance(width, Integral) and width >= 1):
                raise ValueError(f"embedding_dim[{name!r}] must be a positive int or "
                                 f"'auto', got {width!r}.")
            dims.append(int(width))
        if isinstance(self.embedding_dim, dict):
            unused = set(self.embedding_dim) - set(categories.names)
            if unused:
                raise ValueError(f"embedding_dim names {sorted(unused, key=str)} that are not "
                                 f"categorical columns; those are {categories.names}.")
        return dims

    def _encode(self, X, reset):
        """Numeric columns then categorical codes, as one float array."""
        if not hasattr(X, "shape"):
            X = np.asarray(X, dtype=object)
        if sp.issparse(X):
            raise ValueError("This model was fitted with categorical columns; X cannot be "
                             "sparse.")
        numeric = self._categories.numeric(X, dtype=(np.float64, np.float32))
        if numeric.shape[1] == 0 and not reset:
            numeric = numeric.astype(np.float32 if self._dtype == torch.float32 else np.float64)
        codes = self._categories.codes(X, warn=not reset)
        return np.hstack([numeric, codes.astype(numeric.dtype)])

    def _learn_input_statistics(self, X, sample_weight):
        """Training shares of each category: the weights of the unknown category's embedding."""
        if getattr(self, "_categories", None) is not None:
            codes = self._split_columns(X)[1]
            self._category_shares = self._categories.frequencies(codes, sample_weight)

    def _split_columns(self, X):
        """Encoded rows as (numeric columns, int64 codes of the categorical columns)."""
        n_numeric = X.shape[1] - len(self.embedding_dims_)
        return (np.ascontiguousarray(X[:, :n_numeric]),
                np.ascontiguousarray(X[:, n_numeric:]).astype(np.int64))

    def _network_width(self, n_features):
        """Width of the network's input: numeric columns plus embedding vectors."""
        return n_features - len(self.embedding_dims_) + sum(self.embedding_dims_) \
            if getattr(self, "_categories", None) is not None else n_features

    def _with_embeddings(self, body):
        """``body`` behind the categorical columns' embeddings, if there are any."""
        if getattr(self, "_categories", None) is None:
            return body
        net = TabularNet(body, self._categories.n_levels, self.embedding_dims_)
        shares = getattr(self, "_category_shares", None)
        if shares is not None:
            net.embedding.set_frequencies(shares)
        return net

    def _inputs(self, X, device):
        if getattr(self, "_categories", None) is None:
            return super()._inputs(X, device)
        numeric, codes = self._split_columns(X)
        return as_tensor(numeric, self._dtype, device), torch.as_tensor(codes, device=device)

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
        blocks = manual_blocks(module)  # once per fit, not per step
        return lambda inputs, target, weight, decay: manual_backprop(
            module, inputs[0], target, weight, loss_name, activation, decay, blocks)

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
