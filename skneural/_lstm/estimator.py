"""LSTM sequence classifier: fixed- or variable-length sequences, padding masked."""

from numbers import Integral, Real

import numpy as np
import torch
from sklearn.base import ClassifierMixin
from sklearn.utils import check_array, check_consistent_length

from .._core.base import PREDICT_CHUNK_ELEMENTS, BaseNeuralEstimator
from .._core.classifier import NeuralClassifierMixin
from .._core.device import torch_threads
from .._core.docs import fill_doc
from .._core.regularizers import REGULARIZATION_CONSTRAINTS
from .._core.validation import Interval, StrOptions, validate_data
from .modules import CONV_LAYOUTS, SUMMARIES, LSTMSequenceNet
from .sequences import (
    FLOAT_DTYPES,
    check_3d,
    fit_steps,
    is_sequence_list,
    pad_sequences,
    reshape_flat,
    sequence_tensors,
    standardization_stats,
)


def _layout(X):
    """``"list"`` of sequences, ``"3d"`` array, or ``"flat"`` rows (2-D, or anything else)."""
    if is_sequence_list(X):
        return "list"
    try:
        ndim = X.ndim if hasattr(X, "ndim") else np.ndim(X)
    except (ValueError, TypeError):  # ragged lists, array-likes without ndim: 2-D path explains
        return "flat"
    return "3d" if ndim == 3 else "flat"


@fill_doc
class LSTMSequenceClassifier(NeuralClassifierMixin, ClassifierMixin, BaseNeuralEstimator):
    """Sequence classifier with a (bidirectional, stacked) LSTM on a PyTorch backend.

    Each sequence goes through a stack of LSTM layers and a summary over its
    valid steps, joined by default by convolutional blocks (LSTM-FCN: an
    LSTM beside a fully convolutional network), then a linear output layer:
    one sigmoid for binary problems, a softmax for multiclass, independent
    sigmoids for multilabel. Sequences
    of different lengths are padded and packed internally, so padding never
    changes a prediction.

    ``X`` may be

    - a 3-D array ``(n_samples, n_timesteps, n_features)``;
    - a 2-D array ``(n_samples, n_timesteps)`` of univariate sequences, or of
      flattened multivariate ones reshaped row by row to ``input_shape``
      (so the estimator works after a 2-D transformer in a pipeline);
    - a list of ``(T_i, n_features)`` (or ``(T_i,)``) arrays of any lengths.

    Parameters
    ----------
    hidden_size : int, default=32
        Number of hidden units of each LSTM layer (per direction).

    num_layers : int, default=1
        Number of stacked LSTM layers.

    bidirectional : bool, default=False
        Run every LSTM layer forwards and backwards and concatenate the two.

    dropout : float, default=0.0
        Inverted-dropout rate on the inputs of every LSTM layer after the
        first and on the LSTM summary (not on the pooled conv features, as in
        LSTM-FCN). Off in ``predict``.

    summary : {"last", "mean", "max"}, default="max"
        How a sequence of LSTM outputs becomes one vector: the state at the
        last valid step (the first step for the backward direction), or the
        mean or maximum over the valid steps.

    conv_channels : array-like of int or None, default=(128, 256, 128)
        Filters of each convolutional block (Conv1d with 'same' padding,
        batch norm over valid steps, ReLU); the default is LSTM-FCN's
        (Karim et al. 2017) and FCN's (Wang et al. 2017). Their global
        average over valid steps feeds the output layer next to the LSTM
        summary. ``None`` means no conv blocks: a plain LSTM. At
        the end of every ``fit``/``partial_fit`` the batch-norm statistics
        are recomputed over all of ``X`` with the final weights, so
        ``predict`` does not lag behind training.

    conv_kernel_sizes : int, array-like of int or "auto", default="auto"
        Kernel size of every convolutional block, or one per block.
        ``"auto"`` is LSTM-FCN's ``(8, 5, 3)`` for three blocks; for other
        block counts 8 for the first, 3 for the last and 5 in between (8
        for a single block).

    squeeze_excite : int or None, default=None
        Reduction ratio ``r`` of squeeze-and-excitation blocks (Hu et al.,
        2018) after every conv block but the last, as in MLSTM-FCN (which
        uses ``r=16``): each block's channels are rescaled by gates
        ``sigmoid(W2 relu(W1 m))``, where ``m`` is the channels' mean over
        the valid steps and ``W1`` has ``max(1, C // r)`` rows. ``None``
        means no such blocks; ignored without ``conv_channels``.

    conv_layout : {"parallel", "stacked"}, default="parallel"
        ``"parallel"``: the LSTM and the conv blocks both read the input
        (LSTM-FCN's layout). ``"stacked"``: the conv blocks are a front end
        whose features the LSTM reads. On GunPoint, parallel reached 1.000
        test accuracy on three seeds where stacked reached 0.973-0.993.

    layer_norm : bool, default=False
        Layer-normalize the outputs of every LSTM layer at every step (Ba et
        al., 2016), the normalization that suits recurrent nets.

    standardize : {"feature", "timestep"} or None, default="feature"
        Input standardization learnt in the first ``fit``: ``"feature"``
        shifts and scales each feature by its mean and standard deviation
        over all valid steps of all training sequences, the same at every
        step (suits variable-length data); ``"timestep"`` uses separate
        statistics for every (step, feature) cell, taken over the sequences
        that reach the step (steps past the longest training sequence reuse
        the last step's); ``None`` feeds the raw values.

    input_shape : tuple (n_timesteps, n_features) or None, default=None
        How to read the rows of a 2-D ``X``: row ``i`` is reshaped (C order)
        to ``input_shape``. ``None`` reads each row as a univariate sequence.
        Ignored for 3-D and list inputs.

    {engine_parameters}

    {regularization_parameters}

    label_smoothing : float, default=0.0
        Train against targets ``1 - eps`` on the true class and
        ``eps / (K - 1)`` on each other class (seed 003).

    {class_weight_parameter}


    Attributes
    ----------
    classes_ : ndarray or list of ndarray
        Class labels.

    {engine_attributes}

    n_channels_ : int
        Number of features per time step the network reads. For 3-D and
        list inputs ``n_features_in_`` is this number too; for 2-D inputs
        ``n_features_in_`` is the number of columns, as in sklearn.

    n_timesteps_ : int
        Length of the longest training sequence.

    n_outputs_ : int
        Number of outputs.

    out_activation_ : str
        ``"logistic"`` or ``"softmax"``.

    See Also
    --------
    MLPClassifier : For fixed-length feature vectors.

    Notes
    -----
    ``clip_grad_norm`` defaults to 5.0 here, not ``None``: the gradients of
    recurrent nets can explode through long products of Jacobians, and
    clipping the global norm bounds each step without changing its direction.

    Examples
    --------
    >>> import numpy as np
    >>> from skneural import LSTMSequenceClassifier
    >>> rng = np.random.RandomState(0)
    >>> X = [rng.randn(rng.randint(5, 15), 2) for _ in range(40)]
    >>> y = [int(x[:, 0].sum() > 0) for x in X]
    >>> clf = LSTMSequenceClassifier(hidden_size=16, max_iter=50, random_state=0).fit(X, y)
    >>> clf.predict_proba(X[:3]).shape
    (3, 2)
    """

    _parameter_constraints: dict = {
        **BaseNeuralEstimator._parameter_constraints,
        "mc_dropout": [Interval(Integral, 0, None, closed="left")],
        **REGULARIZATION_CONSTRAINTS,
        "label_smoothing": [Interval(Real, 0, 1, closed="left")],
        "class_weight": [None, dict, list, StrOptions({"balanced"})],
        "hidden_size": [Interval(Integral, 1, None, closed="left")],
        "num_layers": [Interval(Integral, 1, None, closed="left")],
        "bidirectional": ["boolean"],
        "dropout": [Interval(Real, 0, 1, closed="left")],
        "summary": [StrOptions(set(SUMMARIES))],
        "conv_channels": [None, "array-like"],
        "conv_kernel_sizes": [StrOptions({"auto"}), Interval(Integral, 1, None, closed="left"),
                              "array-like"],
        "squeeze_excite": [None, Interval(Integral, 1, None, closed="left")],
        "conv_layout": [StrOptions(set(CONV_LAYOUTS))],
        "layer_norm": ["boolean"],
        "standardize": [None, StrOptions({"feature", "timestep"})],
        "input_shape": [None, "array-like"],
    }

    def __init__(self, hidden_size=32, num_layers=1, *, bidirectional=False, dropout=0.0,
                 summary="max", conv_channels=(128, 256, 128), conv_kernel_sizes="auto",
                 squeeze_excite=None, conv_layout="parallel", layer_norm=False,
                 standardize="feature", input_shape=None, solver="adam", alpha=0.0001,
                 batch_size="auto", learning_rate="cosine", learning_rate_init=0.001,
                 power_t=0.5, max_iter="auto", shuffle=True, random_state=None, tol=1e-4,
                 verbose=False, warm_start=False, momentum=0.9, nesterovs_momentum=True,
                 early_stopping=False, validation_fraction=0.1, scoring=None, weight_averaging=None,
                 averaging_start=0.75, averaging_decay=0.999, beta_1=0.9, beta_2=0.999,
                 epsilon=1e-8, n_iter_no_change="auto", max_fun=15000, clip_grad_norm=5.0,
                 device="cpu", n_threads="auto", precision=None, deterministic=False,
                 mc_dropout=0, alpha_l1=0.0, alpha_lp=0.0, lp_exponent=0.5,
                 layer_alphas=None, soft_sharing=0.0, soft_sharing_components=3,
                 jacobian_penalty=0.0, input_noise=0.0, weight_noise=0.0, dropconnect=0.0,
                 adversarial=0.0, adversarial_eps=0.1, penalty_start_epoch=0,
                 label_smoothing=0.0, class_weight=None):
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.bidirectional = bidirectional
        self.dropout = dropout
        self.summary = summary
        self.conv_channels = conv_channels
        self.conv_kernel_sizes = conv_kernel_sizes
        self.squeeze_excite = squeeze_excite
        self.conv_layout = conv_layout
        self.layer_norm = layer_norm
        self.standardize = standardize
        self.input_shape = input_shape
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
        self.label_smoothing = label_smoothing
        self.class_weight = class_weight

    # LSTM-FCN's budget: chosen by 3-fold CV on the training splits of bench_lstm.py's
    # data sets (RESULTS, issue 19); the patience equals the budget, so the cosine
    # schedule runs to its end unless the loss stops improving for a whole budget.
    _AUTO_STEPS = 1500
    _AUTO_PATIENCE_STEPS = 1500
    _AUTO_BATCH_DOC = "FCN's ``max(2, min(16, n_samples // 10))``"

    def _auto_batch_size(self, n_samples):
        """``batch_size="auto"``: ``max(2, min(16, n_samples // 10))`` (Fawaz et al. 2019)."""
        return max(2, min(16, n_samples // 10))

    # ----------------------------------------------------------------- data
    def _check_input_shape(self):
        shape = self.input_shape
        if shape is None:
            return
        values = list(shape)
        if len(values) != 2 or not all(isinstance(v, Integral) and v >= 1 for v in values):
            raise ValueError(
                f"input_shape must be None or a pair of positive ints (n_timesteps, "
                f"n_features), got {shape!r}."
            )

    def _sequences(self, X, reset, y=None, fitting=False):
        """Validate ``X`` (and ``y`` when fitting) into a NaN-padded ``(n, T, F)`` array."""
        self._check_input_shape()
        layout = _layout(X)
        flat_fit = self._flat_input if not reset else layout == "flat"
        if layout == "flat" and flat_fit:
            # sklearn's own validation: feature names, n_features_in_ and its messages
            if fitting:
                X, y = validate_data(self, X, y, reset=reset, dtype=FLOAT_DTYPES,
                                     multi_output=True, y_numeric=False)
            else:
                X = validate_data(self, X, reset=False, dtype=FLOAT_DTYPES, ensure_min_samples=1)
            padded = reshape_flat(X, self.input_shape)
        else:
            if fitting:
                y = validate_data(self, "no_validation", y, reset=reset, multi_output=True,
                                  y_numeric=False)
            if layout == "list":
                padded = pad_sequences(X)
            elif layout == "3d":
                padded = check_3d(X)
            else:
                X = check_array(X, dtype=FLOAT_DTYPES, ensure_min_samples=1, input_name="X")
                padded = reshape_flat(X, self.input_shape)
            if reset:
                self.n_features_in_ = padded.shape[2]
        if reset:
            self._flat_input = flat_fit
            self.n_channels_ = padded.shape[2]
            self.n_timesteps_ = padded.shape[1]
        elif padded.shape[2] != self.n_channels_:
            raise ValueError(
                f"X has {padded.shape[2]} features per time step, but "
                f"{type(self).__name__} was fitted with {self.n_channels_}."
            )
        if fitting:
            check_consistent_length(padded, y)
            return padded, y
        return padded

    def _validate_Xy(self, X, y, reset):
        return self._sequences(X, reset, y, fitting=True)

    def _validate_X(self, X, reset):
        return self._sequences(X, reset)

    def _learn_statistics(self, X, y, sample_weight):
        self._x_mean, self._x_scale = standardization_stats(X, self.standardize, sample_weight)

    def _fit(self, X, y, sample_weight=None, incremental=False, **validation_data):
        super()._fit(X, y, sample_weight=sample_weight, incremental=incremental,
                     **validation_data)
        if self.module_.conv is not None:
            # rows count as in training: by their sample_weight times their class_weight
            if sample_weight is not None:
                sample_weight = np.asarray(sample_weight, dtype=np.float64)
            weight = self._finalize_sample_weight(sample_weight, y, incremental)
            self._refresh_norm_statistics(X, weight)
        return self

    def _refresh_norm_statistics(self, X, sample_weight=None):
        """Batch-norm statistics of the conv front end from the final weights, over all of X.

        Rows count by their ``sample_weight``, as in training's batch statistics.
        """
        padded = self._validate_X(X, reset=False)
        device = torch.device(self.device_)
        step = max(1, PREDICT_CHUNK_ELEMENTS // int(np.prod(padded.shape[1:])))
        weight = (None if sample_weight is None
                  else torch.as_tensor(np.asarray(sample_weight, dtype=np.float64), device=device))
        batches = ((*self._inputs(padded[i:i + step], device),
                    None if weight is None else weight[i:i + step])
                   for i in range(0, len(padded), step))
        with torch_threads(self.n_threads):
            self.module_.refresh_norm_statistics(batches)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = False  # sequences are validated here, not by the base
        return tags

    def _jacobian_to_input(self, jacobian, X):
        # the network reads standardized steps, cut to the longest sequence: undo both
        n_steps = jacobian.shape[2]
        if self._x_scale is not None:
            jacobian = jacobian / fit_steps(self._x_scale, n_steps)
        padded = np.zeros(jacobian.shape[:2] + X.shape[1:], dtype=jacobian.dtype)
        padded[:, :, :n_steps] = jacobian
        return padded

    def _inputs(self, X, device):
        return sequence_tensors(X, self._x_mean, self._x_scale, self._dtype, device)

    # ---------------------------------------------------------------- model
    def _conv_layers(self):
        if self.conv_channels is None:
            return (), ()
        channels = [int(c) for c in np.ravel(self.conv_channels)]
        kernels = self.conv_kernel_sizes
        if isinstance(kernels, str):  # "auto": LSTM-FCN's 8-5-3
            kernels = [8] + [5] * (len(channels) - 2) + [3] * (len(channels) > 1)
        kernels = ([int(kernels)] * len(channels) if isinstance(kernels, Integral)
                   else [int(k) for k in np.ravel(kernels)])
        if len(kernels) != len(channels):
            raise ValueError(
                f"conv_kernel_sizes has {len(kernels)} entries but conv_channels has "
                f"{len(channels)}; give one kernel size or one per block."
            )
        if any(v < 1 for v in channels + kernels):
            raise ValueError(
                f"conv_channels and conv_kernel_sizes must be positive, got "
                f"{self.conv_channels!r} and {self.conv_kernel_sizes!r}."
            )
        return channels, kernels

    def _build_module(self, n_features):
        # the base passes X.shape[1], the number of steps for sequence input
        channels, kernels = self._conv_layers()
        return LSTMSequenceNet(
            self.n_channels_, self.n_outputs_, hidden_size=self.hidden_size,
            num_layers=self.num_layers, bidirectional=self.bidirectional,
            dropout=self.dropout, summary=self.summary, conv_channels=channels,
            conv_kernel_sizes=kernels, layer_norm=self.layer_norm,
            conv_layout=self.conv_layout, se_ratio=self.squeeze_excite,
        )

