"""A convolutional classifier for images and signals that behaves like any sklearn classifier."""

import math
from numbers import Integral, Real

import numpy as np
import torch
from sklearn.base import ClassifierMixin

from .._core.base import BaseNeuralEstimator
from .._core.classifier import NeuralClassifierMixin
from .._core.docs import fill_doc
from .._core.networks import ACTIVATIONS, INITIALIZERS, init_weights
from .._core.regularizers import REGULARIZATION_CONSTRAINTS, image_shift_tangents
from .._core.validation import Interval, StrOptions, as_tensor
from .modules import CONV_NORMALIZATIONS, Augment, ConvNet

AUGMENTATIONS = ("shift", "rotation", "scale", "horizontal_flip", "vertical_flip", "noise")


def _ndim(X):
    """Dimensionality of arrays, DataFrames and nested lists; 2 for anything else.

    Other array-likes go to sklearn's validation as they are, which rejects
    what it cannot read as a 2-D array with its own message.
    """
    if hasattr(X, "ndim") and hasattr(X, "shape"):
        return X.ndim
    if isinstance(X, (list, tuple)):
        return np.asarray(X).ndim
    return 2


@fill_doc
class ConvNetClassifier(NeuralClassifierMixin, ClassifierMixin, BaseNeuralEstimator):
    """Convolutional neural-network classifier for images and 1-D signals.

    Stacks of convolution blocks (local receptive fields with shared weights,
    batch or group normalization, optional residual shortcuts and dilation,
    spatial dropout, pooling), then global average pooling or flattening and a
    dense head. Every architectural choice is a flat parameter, so
    ``GridSearchCV`` can tune it. Rows of a 2-D ``X`` are reshaped to
    ``input_shape``, so a ``StandardScaler`` or any 2-D transformer can stand
    before it in a pipeline; 3-D and 4-D arrays are accepted directly.
    Training-time data augmentation (shifts, rotations, scalings, flips,
    noise) runs on the device inside the network and only in training.

    Parameters
    ----------
    filters : int or array-like of int, default=(32, 64)
        Output channels of each convolution block; its length is the number
        of blocks.

    kernel_size : int, default=3
        Side of every convolution kernel ("same" padding keeps the size).

    dilation : int or array-like of int, default=1
        Spacing of the kernel taps, one value for all blocks or one per
        block. A dilated convolution sees ``(kernel_size - 1) * dilation + 1``
        inputs per axis with ``kernel_size`` weights.

    residual : bool, default=False
        Make each block a residual basic block: two convolutions plus a
        shortcut (identity, or a 1x1 convolution when the channel count
        changes). A plain block has one convolution.

    normalization : {"batch", "group", "layer", "instance"} or None, default="batch"
        Normalization after each convolution, before the activation. Batch
        norm uses running statistics in ``predict``; the others are
        ``GroupNorm`` with up to 8 groups, one group, or one per channel, and
        normalize each sample on its own. Batch statistics are weighted by
        ``sample_weight``, so a weight of 2 acts like a repeated row, as
        sklearn's checks require.

    pooling : {"max", "avg"} or None, default="max"
        Pooling of size 2 after each block, skipped once a side is shorter
        than 2.

    spatial_dropout : float, default=0.0
        Probability of zeroing a whole feature map after each block (spatial
        dropout, Tompson et al. 2015). Off in ``predict``.

    global_pooling : bool, default=False
        Average each final feature map to one value (Network in Network)
        instead of flattening the maps into the dense head.

    hidden_layer_sizes : array-like of int, default=(128,)
        Widths of the dense layers between the convolutions and the output.

    dropout : float or list of float, default=0.3
        Dropout rate after each dense hidden layer. Off in ``predict``.

    activation : {"relu", "identity", "logistic", "tanh", "leaky_relu", "elu", \
"gelu", "silu", "softplus"}, default="relu"
        Activation of the convolution blocks and the dense layers.

    init : {"auto", "glorot_uniform", "he_normal", "normal"}, default="auto"
        Weight initialisation; ``"auto"`` is He normal, suited to ReLU.

    input_shape : tuple of int or None, default=None
        Shape of one sample: ``(C, H, W)`` or ``(H, W)`` for images, ``(C, L)``
        or ``(L,)`` for signals (see ``spatial_dims``). ``None`` takes the
        shape of a 3-D/4-D ``X``, and treats each row of a 2-D ``X`` as a
        one-channel signal, so plain tabular data works.

    spatial_dims : {"auto", 1, 2}, default="auto"
        Whether samples are signals (1) or images (2). ``"auto"``: images when
        ``input_shape`` has 2 or 3 entries or ``X`` is 3-D/4-D, signals
        otherwise. Set 1 for multichannel signals given as ``(C, L)`` or as a
        3-D ``X`` of shape ``(n_samples, C, L)``.

    shift : int or "auto", default="auto"
        Augmentation: random integer shift of up to ``shift`` pixels (samples)
        along each spatial axis. ``"auto"`` is ``min(H, W) // 8`` pixels for
        images (1 on 8x8 digits, 3 on 28x28) and 0 for signals, whose rows
        may be tabular features that must not move.

    rotation : float or "auto", default="auto"
        Augmentation: random rotation of up to ``rotation`` degrees (images).
        ``"auto"`` is 10 degrees for images, 0 for signals.

    scale : float or "auto", default="auto"
        Augmentation: random scaling by a factor in ``[1 - scale, 1 + scale]``.
        ``"auto"`` is 0.1 for images, 0 for signals. The values a fit used
        are in ``augmentation_``.

    horizontal_flip : bool, default=False
        Augmentation: mirror the last axis with probability 1/2 (time reversal
        for signals). Use only where the labels allow it.

    vertical_flip : bool, default=False
        Augmentation: mirror the rows of images with probability 1/2.

    noise : float, default=0.0
        Augmentation: standard deviation of additive Gaussian input noise.

    {engine_parameters}

    {regularization_parameters}

    tangent_prop : float, default=0.0
        Strength of tangent propagation (seed 000) along the tangents of
        one-pixel shifts (horizontal and vertical for images, along time for
        signals): ``0.5 * sum_n sum_k (J_n tau_n)_k^2`` penalizes how much
        the outputs change when the input shifts.

    label_smoothing : float, default=0.0
        Train against targets ``1 - eps`` on the true class and
        ``eps / (K - 1)`` on each other class (seed 003).

    {class_weight_parameter}


    Attributes
    ----------
    classes_ : ndarray or list of ndarray
        Class labels.

    input_shape_ : tuple of int
        Shape of one sample as the network sees it, channels first;
        ``n_features_in_`` is its product.

    n_outputs_ : int
        Number of outputs.

    out_activation_ : str
        ``"logistic"`` or ``"softmax"``.

    augmentation_ : dict
        The augmentation of the last fit, ``"auto"`` resolved: ``shift``,
        ``rotation``, ``scale``, ``horizontal_flip``, ``vertical_flip`` and
        ``noise``. All zero means the network trains on the data as given.

    {engine_attributes}

    See Also
    --------
    MLPClassifier : Fully connected classifier for tabular data.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from skneural import ConvNetClassifier
    >>> X, y = load_digits(return_X_y=True)
    >>> clf = ConvNetClassifier(input_shape=(8, 8), filters=(16, 32), shift=1,
    ...                         max_iter=5, random_state=0).fit(X[:500] / 16, y[:500])
    >>> clf.predict_proba(X[:2] / 16).shape
    (2, 10)
    """

    _parameter_constraints: dict = {
        **BaseNeuralEstimator._parameter_constraints,
        "mc_dropout": [Interval(Integral, 0, None, closed="left")],
        **REGULARIZATION_CONSTRAINTS,
        "tangent_prop": [Interval(Real, 0, None, closed="left")],
        "label_smoothing": [Interval(Real, 0, 1, closed="left")],
        "class_weight": [None, dict, list, StrOptions({"balanced"})],
        "filters": ["array-like", Interval(Integral, 1, None, closed="left")],
        "kernel_size": [Interval(Integral, 1, None, closed="left")],
        "dilation": ["array-like", Interval(Integral, 1, None, closed="left")],
        "residual": ["boolean"],
        "normalization": [None, StrOptions(set(CONV_NORMALIZATIONS))],
        "pooling": [None, StrOptions({"max", "avg"})],
        "spatial_dropout": [Interval(Real, 0, 1, closed="left")],
        "global_pooling": ["boolean"],
        "hidden_layer_sizes": ["array-like", Interval(Integral, 1, None, closed="left")],
        "dropout": [Interval(Real, 0, 1, closed="left"), "array-like"],
        "activation": [StrOptions(set(ACTIVATIONS))],
        "init": [StrOptions({"auto", *INITIALIZERS})],
        "input_shape": [None, tuple, list],
        "spatial_dims": [StrOptions({"auto"}), Interval(Integral, 1, 2, closed="both")],
        "shift": [StrOptions({"auto"}), Interval(Integral, 0, None, closed="left")],
        "rotation": [StrOptions({"auto"}), Interval(Real, 0, 180, closed="both")],
        "scale": [StrOptions({"auto"}), Interval(Real, 0, 1, closed="left")],
        "horizontal_flip": ["boolean"],
        "vertical_flip": ["boolean"],
        "noise": [Interval(Real, 0, None, closed="left")],
    }

    # The defaults were chosen by 5-fold CV on the first 898 digits (log-loss, seeds 0
    # and 1), then checked on benchmarks/bench_convnet.py's 5 folds (RESULTS, issue 19).
    _AUTO_STEPS = 3500
    _AUTO_PATIENCE_STEPS = 1750
    _AUTO_BATCH_DOC = "``min(64, n_samples)``"

    def _auto_batch_size(self, n_samples):
        """``batch_size="auto"``: ``min(64, n_samples)``."""
        return min(64, n_samples)

    def __init__(self, filters=(32, 64), kernel_size=3, *, dilation=1, residual=False,
                 normalization="batch", pooling="max", spatial_dropout=0.0,
                 global_pooling=False, hidden_layer_sizes=(128,), dropout=0.3,
                 activation="relu", init="auto", input_shape=None, spatial_dims="auto",
                 shift="auto", rotation="auto", scale="auto", horizontal_flip=False,
                 vertical_flip=False, noise=0.0, solver="adam", alpha=0.0001,
                 batch_size="auto", learning_rate="cosine", learning_rate_init=0.002,
                 power_t=0.5, max_iter="auto",
                 shuffle=True, random_state=None, tol=1e-4, verbose=False, warm_start=False,
                 momentum=0.9, nesterovs_momentum=True, early_stopping=False,
                 validation_fraction=0.1, scoring=None, weight_averaging=None,
                 averaging_start=0.75, averaging_decay=0.999, beta_1=0.9, beta_2=0.999, epsilon=1e-8,
                 n_iter_no_change="auto", max_fun=15000, clip_grad_norm=None, device="cpu",
                 n_threads="auto", precision=None, deterministic=False,
                 mc_dropout=0, alpha_l1=0.0, alpha_lp=0.0, lp_exponent=0.5,
                 layer_alphas=None, soft_sharing=0.0, soft_sharing_components=3,
                 jacobian_penalty=0.0, input_noise=0.0, weight_noise=0.0, dropconnect=0.0,
                 adversarial=0.0, adversarial_eps=0.1, penalty_start_epoch=0,
                 tangent_prop=0.0, label_smoothing=0.0, class_weight=None):
        self.filters = filters
        self.kernel_size = kernel_size
        self.dilation = dilation
        self.residual = residual
        self.normalization = normalization
        self.pooling = pooling
        self.spatial_dropout = spatial_dropout
        self.global_pooling = global_pooling
        self.hidden_layer_sizes = hidden_layer_sizes
        self.dropout = dropout
        self.activation = activation
        self.init = init
        self.input_shape = input_shape
        self.spatial_dims = spatial_dims
        self.shift = shift
        self.rotation = rotation
        self.scale = scale
        self.horizontal_flip = horizontal_flip
        self.vertical_flip = vertical_flip
        self.noise = noise
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
        self.tangent_prop = tangent_prop
        self.label_smoothing = label_smoothing
        self.class_weight = class_weight

    # ------------------------------------------------------------ input shape
    def _sample_shape(self, data_shape, n_features):
        """Channels-first shape of one sample, from ``input_shape`` or ``X``'s own shape."""
        shape = data_shape if self.input_shape is None else tuple(self.input_shape)
        if any(not isinstance(s, (Integral, np.integer)) or s < 1 for s in shape):
            raise ValueError(f"input_shape must hold positive integers, got {shape!r}.")
        if len(shape) not in (1, 2, 3):
            raise ValueError(
                f"input_shape={shape!r} has {len(shape)} entries; use (C, H, W) or (H, W) "
                "for images, (C, L) or (L,) for signals."
            )
        if math.prod(shape) != n_features:
            raise ValueError(
                f"input_shape={shape!r} holds {math.prod(shape)} values per sample, but X "
                f"has {n_features} features per sample."
            )
        images = len(shape) >= 2 if self.spatial_dims == "auto" else self.spatial_dims == 2
        if images and len(shape) == 1:
            raise ValueError(f"spatial_dims=2 needs an image input_shape (H, W) or (C, H, W), "
                             f"got {shape!r}.")
        if not images and len(shape) == 3:
            raise ValueError(f"spatial_dims=1 needs a signal input_shape (C, L) or (L,), "
                             f"got {shape!r}.")
        n_spatial = 2 if images else 1
        return tuple(int(s) for s in (1,) * (n_spatial + 1 - len(shape)) + tuple(shape))

    def _flatten(self, X, reset):
        """Flatten a 3-D/4-D ``X`` to rows, checking its sample shape against the fit's."""
        if _ndim(X) <= 2:
            return X, None
        X = np.asarray(X)
        if X.ndim > 4:
            raise ValueError(f"X must be 2-D, 3-D or 4-D, got an array of shape {X.shape}.")
        if not reset and hasattr(self, "input_shape_"):
            expected = self.input_shape_
            if math.prod(X.shape[1:]) != math.prod(expected) or (
                    tuple(s for s in X.shape[1:] if s != 1) != tuple(s for s in expected
                                                                       if s != 1)):
                raise ValueError(f"X has samples of shape {X.shape[1:]}, but "
                                 f"{type(self).__name__} was fitted on shape {expected}.")
        return X.reshape(X.shape[0], -1), X.shape[1:]

    def _validate_X(self, X, reset):
        X, _ = self._flatten(X, reset)
        return super()._validate_X(X, reset)

    def _validate_Xy(self, X, y, reset):
        X, data_shape = self._flatten(X, reset)
        X, y = super()._validate_Xy(X, y, reset)
        if reset:
            self.input_shape_ = self._sample_shape(data_shape or (X.shape[1],), X.shape[1])
        return X, y

    def _augmentation(self):
        """The augmentation parameters with ``"auto"`` resolved for ``input_shape_``."""
        images = len(self.input_shape_) == 3
        side = min(self.input_shape_[1:])
        auto = {"shift": side // 8 if images else 0, "rotation": 10.0 if images else 0.0,
                "scale": 0.1 if images else 0.0}
        return {name: auto[name] if getattr(self, name) == "auto" else getattr(self, name)
                for name in AUGMENTATIONS}

    def _random_techniques(self):
        """Dropout and the like, plus every augmentation set (``"auto"`` resolved)."""
        augmentation = self._augmentation() if hasattr(self, "input_shape_") else {}
        return super()._random_techniques() + [name for name, value in augmentation.items()
                                               if value]

    def _tangents(self, x):
        """Shift tangents for ``tangent_prop``: one per spatial axis of ``x``."""
        return image_shift_tangents(x)

    def _inputs(self, X, device):
        return (as_tensor(X, self._dtype, device).reshape(-1, *self.input_shape_),)

    # ---------------------------------------------------------------- network
    def _filters(self):
        filters = self.filters
        filters = list(filters) if hasattr(filters, "__iter__") else [filters]
        if not filters or any(int(f) < 1 for f in filters):
            raise ValueError(f"filters must be positive channel counts, got {self.filters!r}.")
        return [int(f) for f in filters]

    def _build_module(self, n_features):
        filters = self._filters()
        dilation = self.dilation
        dilation = list(dilation) if hasattr(dilation, "__iter__") else [dilation] * len(filters)
        if len(dilation) != len(filters):
            raise ValueError(f"dilation has {len(dilation)} entries but filters defines "
                             f"{len(filters)} blocks; give one value or one per block.")
        if any(int(d) < 1 for d in dilation):
            raise ValueError(f"dilation must be >= 1, got {self.dilation!r}.")
        dilation = [int(d) for d in dilation]
        hidden = self.hidden_layer_sizes
        hidden = [int(h) for h in hidden] if hasattr(hidden, "__iter__") else [int(hidden)]
        if any(h < 1 for h in hidden):
            raise ValueError(f"hidden_layer_sizes must be > 0, got {self.hidden_layer_sizes!r}.")
        spatial_dims = len(self.input_shape_) - 1
        self.augmentation_ = self._augmentation()
        augment = None
        if any(self.augmentation_.values()):
            augment = Augment(spatial_dims, **self.augmentation_)
        module = ConvNet(self.input_shape_, self.n_outputs_, filters, self.kernel_size,
                         dilation, self.residual, self.normalization, self.activation,
                         self.pooling, self.spatial_dropout, self.global_pooling,
                         hidden, self.dropout, augment)
        init_weights(module, "he_normal" if self.init == "auto" else self.init, self.activation)
        if spatial_dims == 2:
            # NHWC: the CPU's max-pool and batch-norm kernels vectorize over channels
            # in this layout (max pooling 13x faster forward); the same values,
            # strides differ. After init, so the initial weights are those of NCHW.
            module = module.to(memory_format=torch.channels_last)
        return module
