"""GANSampler: a generative adversarial sampler for tabular rows, sklearn style."""

from numbers import Integral, Real
from typing import Any

import numpy as np
import torch

from .._core.base import BaseNeuralEstimator
from .._core.device import (check_precision, deterministic_algorithms, resolve_device, seeded,
                            torch_threads)
from .._core.engine import epochs_for_steps
from .._core.networks import ACTIVATIONS, NORMALIZATIONS
from .._core.typing import ArrayLike, NDArray, RandomState
from .._core.validation import (
    Interval,
    StrOptions,
    _check_feature_names_in,
    _fit_context,
    _wrap_data_with_container,
    check_is_fitted,
    check_random_state,
    validate_data,
)
from .calibration import (apply_quantile_maps, category_shares, fit_logit_bias,
                          fit_quantile_maps, group_sizes)
from .conditions import check_labels, draw_codes, one_hot_conditions
from .encoder import TabularEncoder, _is_dataframe, categorical_indices
from .modules import Discriminator, GANModule, Generator
from .sampling import generate_rows, offset_critic
from .training import (
    GENERATOR_LOSSES,
    batch_rows,
    make_critic,
    steps_per_epoch,
    train_adversarial,
    train_critic,
)

_ENGINE_KEPT = ("batch_size", "learning_rate_init", "max_iter", "random_state", "verbose",
                "warm_start", "beta_1", "beta_2", "epsilon", "device", "n_threads", "precision",
                "deterministic")


class GANSampler(BaseNeuralEstimator):
    """Generative adversarial network that learns a table and samples new rows.

    A generator ``G`` maps Gaussian noise to rows and a discriminator ``D``
    tells real rows from generated ones; the two are trained in turn on
    ``min_G max_D E[log D(x)] + E[log(1 - D(G(z)))]`` (Goodfellow et al.
    2014). ``fit(X)`` learns the joint distribution of the columns;
    ``fit(X, y)`` trains a conditional GAN (Mirza & Osindero 2014), so that
    ``sample(n, y=label)`` draws rows of a chosen class, e.g. to augment a
    minority class. Numeric columns are standardized internally and
    generated back in their original scale; categorical columns (given by
    index, or detected from a DataFrame's object/category/bool dtypes) are
    one-hot blocks with a Gumbel-softmax output and always come back as
    categories seen in ``fit``.

    The defaults combine the stabilizers that make small GANs train
    reliably: the non-saturating generator loss, packing of ``pac`` rows per
    discriminator input (PacGAN) against mode collapse, spectral
    normalization of the discriminator, a linearly decaying step size, an
    exponential moving average of the generator's weights, CTGAN's
    mode-specific encoding of numeric columns, discriminator rejection
    sampling at ``sample`` time and a calibration of every column's
    marginal distribution to the training rows'.

    Parameters
    ----------
    generator_hidden_layer_sizes : array-like of int, default=(128, 128)
        Widths of the generator's hidden layers.

    discriminator_hidden_layer_sizes : array-like of int, default=(128, 128)
        Widths of the discriminator's hidden layers.

    latent_dim : int, default=16
        Dimension of the Gaussian noise fed to the generator.

    generator_activation : str, default="relu"
        Hidden activation of the generator (any of skneural's activations).

    discriminator_activation : str, default="leaky_relu"
        Hidden activation of the discriminator (leaky ReLU uses slope 0.2).

    generator_normalization : {"batch", "layer"} or None, default=None
        Normalization after each hidden affine map of the generator.

    discriminator_normalization : {"layer"} or None, default=None
        Normalization in the discriminator (batch norm would mix the rows
        of a batch, which packing and the penalties assume independent).

    loss : {"non_saturating", "minimax"}, default="non_saturating"
        Generator objective: the original minimax ``E[log(1 - D(G(z)))]``
        (minimized) or the non-saturating ``-E[log D(G(z))]``, which has the
        same fixed point and does not vanish when ``D`` wins early.

    pac : int, default=4
        Number of rows the discriminator judges jointly (PacGAN).

    spectral_norm : bool, default=True
        Spectral normalization of every discriminator layer (Miyato et al.
        2018), bounding its Lipschitz constant.

    gradient_penalty : float, default=0.0
        Weight ``gamma`` of the R1 penalty ``gamma / 2 * E||grad D(x)||^2`` on
        real rows (Mescheder et al. 2018); 0 disables it.

    label_smoothing : float, default=0.0
        One-sided label smoothing: the discriminator's target for real rows
        is ``1 - label_smoothing``.

    instance_noise : float, default=0.0
        Standard deviation (in standardized units) of Gaussian noise added to
        the discriminator's real and generated inputs, decayed linearly to 0.

    discriminator_steps : int, default=1
        Discriminator updates per generator update.

    learning_rate : {"linear", "constant"}, default="linear"
        Step-size schedule of both optimizers: constant, or decaying linearly
        to zero over the fit's ``max_iter_`` epochs (``max_iter`` resolved),
        which lets the game settle.

    learning_rate_init : float, default=1e-3
        Adam step size of the generator.

    discriminator_learning_rate : float or None, default=None
        Adam step size of the discriminator; ``None`` uses
        ``learning_rate_init`` (two time-scale updates otherwise).

    generator_averaging : float or None, default=0.999
        Decay of the exponential moving average of the generator's weights
        from which ``sample`` draws; ``None`` samples the last generator.
        The decay warms up as in TensorFlow's ``ExponentialMovingAverage``
        with ``num_updates``: update ``t`` (from 0, counted per ``fit``)
        uses ``min(generator_averaging, (1 + t) / (10 + t))``, so the
        untrained initial weights keep no real share (1e-17 after 300
        updates; a default fit makes about 3,000) and, until ``t`` reaches about
        ``9 / (1 - generator_averaging)``, the average spans roughly the
        last tenth of the steps. A ``warm_start`` fit restarts the warm-up,
        as it restarts the step-size schedule.

    rejection_sampling : bool, default=True
        Discriminator rejection sampling (Azadi et al. 2019): after training,
        fit an unpacked discriminator (the critic) on real vs generated rows
        for a quarter of the generator's steps, and let ``sample`` accept
        each candidate with a probability derived from its density-ratio
        estimate. It restores under-sampled modes and drops off-support rows,
        at the cost of about 15% more fit time and several generator calls
        per returned row. Setting it to False after a fit with True samples
        the generator directly.

    marginal_calibration : bool, default=True
        After training, match each column's marginal distribution to the
        training rows' (per class in a conditional fit). Categorical columns,
        and the mode of each mode-encoded numeric column, get an offset per
        category added to the generator's logits (fitted by fixed-point
        iteration on 20,000 generated rows, so that the generated shares
        equal the training ones); numeric values get the monotone map
        ``F_train^-1(F_generated(x))`` through 1,001 quantiles, per mode.
        Both keep the rows' dependence structure: the offsets shift every
        row's odds alike, the map keeps the ranks within a mode. Numeric
        values then stay within the training range. The critic of
        ``rejection_sampling`` trains against the offset generator, and a
        map is fitted for sampling with and without rejection. Costs about a
        second of fit. Setting it to False after a fit with True samples
        without the corrections.

    categorical_features : "auto", None, array-like of int, bool or str, default="auto"
        Categorical columns; ``"auto"`` takes a DataFrame's object,
        category, bool and string columns (none for arrays).

    numeric_encoding : {"auto", "mode_specific", "standard"}, default="auto"
        How numeric columns reach the networks. All standardize first;
        ``"mode_specific"`` then encodes each value by its mode, found by a
        variational Gaussian mixture per column, and its offset within the
        mode (CTGAN's mode-specific normalization), which lets the generator
        reproduce narrow peaks and multimodal columns exactly.
        ``"standard"`` feeds the standardized values as they are. ``"auto"``
        encodes by mode only the columns whose modes are well separated (the
        mixture's density falls below 5% of the lower peak between two
        peaks: clusters, a few repeated values) and standardizes the rest:
        on unimodal or skewed columns the mode choices add dependence the
        data do not have (RESULTS, issue 25).

    batch_size : int, default=256
        Rows per mini-batch, at most ``n_samples``, rounded up to a multiple
        of ``pac`` (and to at least 2 with ``generator_normalization="batch"``,
        which cannot normalize a single row). The rows used are recorded in
        ``batch_size_``.

    max_iter : int or "auto", default="auto"
        Training budget. An int is a number of epochs; one epoch is
        ``ceil(n_samples / batch_size_)`` generator updates. ``"auto"``
        counts the budget in generator updates instead, so that a small and
        a large table get the same training: the epochs that make about
        ``_AUTO_STEPS = 3000`` updates,
        ``ceil(3000 / ceil(n_samples / batch_size_))``, bounded to
        ``[_AUTO_MIN_EPOCHS, _AUTO_MAX_EPOCHS] = [1, 3000]`` (300 epochs at
        2,500 rows, 38 at 20,000, 3,000 on up to 256 rows with the default
        batch size). The resolved number of epochs is recorded in
        ``max_iter_``; each ``fit`` (a ``warm_start`` one too) resolves it
        for its own rows.

    beta_1 : float, default=0.5
        Adam's first-moment decay (0.5 is the usual GAN choice).

    beta_2 : float, default=0.999
        Adam's second-moment decay.

    epsilon : float, default=1e-8
        Adam's stability term.

    random_state : int, RandomState instance or None, default=None
        Seeds initialisation and training; an int gives bitwise-identical
        fits on the CPU.

    verbose : bool, default=False
        Progress bar (tqdm) with both losses.

    warm_start : bool, default=False
        Continue training the fitted networks on the next ``fit``.

    device : {"cpu", "auto", "cuda", "cuda:N", "mps"}, default="cpu"
        Where to train and sample.

    n_threads : int, "auto" or None, default="auto"
        Torch threads used by ``fit`` and ``sample``; ``"auto"`` trains on one
        thread when a training step (both networks) is smaller than 5
        million floating-point operations, as the other estimators do.

    precision : {None, "bf16", "fp16"}, default=None
        Mixed-precision training of the generator and discriminator
        (``torch.autocast``; ``"fp16"`` scales each network's loss). The
        weights stay float32, the R1 penalty and the rejection critic run in
        float32, and ``sample`` runs in float32. Refused on MPS.

    deterministic : bool, default=False
        Torch's deterministic algorithms during ``fit`` and ``sample``
        (see the supervised estimators' ``deterministic``).

    Attributes
    ----------
    loss_curve_ : dict of list of float
        ``loss_curve_["discriminator"]`` and ``loss_curve_["generator"]``:
        mean loss of each epoch.

    n_iter_ : int
        Number of epochs run in the last ``fit`` (``max_iter_`` unless the
        losses became non-finite).

    max_iter_ : int
        Epochs of the last ``fit``: ``max_iter``, with ``"auto"`` resolved.

    batch_size_ : int
        Rows per mini-batch in the last ``fit`` (``batch_size`` capped and
        rounded as described there).

    classes_ : ndarray or None
        Class labels of a conditional fit, ``None`` otherwise.

    class_prior_ : ndarray or None
        Share of each class in the training rows.

    categorical_features_ : list of int
        Indices of the categorical columns.

    n_features_in_ : int
        Number of features seen during ``fit``.

    feature_names_in_ : ndarray of shape (n_features_in_,)
        Names of the features, when ``X`` had string column names.

    module_ : torch.nn.Module
        The networks: ``module_.generator``, ``module_.discriminator``,
        ``module_.generator_average`` and, with rejection sampling,
        ``module_.critic``.

    device_ : str
        Device the model was fitted on.

    See Also
    --------
    sklearn.mixture.GaussianMixture : A likelihood-based sampler.
    sklearn.neighbors.KernelDensity : Sampling from a kernel density.

    Examples
    --------
    >>> import numpy as np
    >>> from skneural import GANSampler
    >>> X = np.random.RandomState(0).normal(size=(200, 2))
    >>> gan = GANSampler(max_iter=20, random_state=0).fit(X)
    >>> gan.sample(5, random_state=0).shape
    (5, 2)
    """

    _parameter_constraints: dict = {
        **{k: BaseNeuralEstimator._parameter_constraints[k] for k in _ENGINE_KEPT},
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "max_iter": [StrOptions({"auto"}), Interval(Integral, 1, None, closed="left")],
        "generator_hidden_layer_sizes": ["array-like", Interval(Integral, 1, None, closed="left")],
        "discriminator_hidden_layer_sizes": ["array-like",
                                             Interval(Integral, 1, None, closed="left")],
        "latent_dim": [Interval(Integral, 1, None, closed="left")],
        "generator_activation": [StrOptions(set(ACTIVATIONS))],
        "discriminator_activation": [StrOptions(set(ACTIVATIONS))],
        "generator_normalization": [None, StrOptions(set(NORMALIZATIONS))],
        "discriminator_normalization": [None, StrOptions({"layer"})],
        "loss": [StrOptions(set(GENERATOR_LOSSES))],
        "pac": [Interval(Integral, 1, None, closed="left")],
        "spectral_norm": ["boolean"],
        "gradient_penalty": [Interval(Real, 0, None, closed="left")],
        "label_smoothing": [Interval(Real, 0, 1, closed="left")],
        "instance_noise": [Interval(Real, 0, None, closed="left")],
        "discriminator_steps": [Interval(Integral, 1, None, closed="left")],
        "learning_rate": [StrOptions({"constant", "linear"})],
        "discriminator_learning_rate": [None, Interval(Real, 0, None, closed="neither")],
        "generator_averaging": [None, Interval(Real, 0, 1, closed="left")],
        "rejection_sampling": ["boolean"],
        "marginal_calibration": ["boolean"],
        "categorical_features": [None, StrOptions({"auto"}), "array-like"],
        "numeric_encoding": [StrOptions({"auto", "mode_specific", "standard"})],
    }

    def __init__(self, *, generator_hidden_layer_sizes=(128, 128),
                 discriminator_hidden_layer_sizes=(128, 128), latent_dim=16,
                 generator_activation="relu", discriminator_activation="leaky_relu",
                 generator_normalization=None, discriminator_normalization=None,
                 loss="non_saturating", pac=4, spectral_norm=True, gradient_penalty=0.0,
                 label_smoothing=0.0, instance_noise=0.0, discriminator_steps=1,
                 learning_rate="linear", learning_rate_init=1e-3,
                 discriminator_learning_rate=None, generator_averaging=0.999,
                 rejection_sampling=True, marginal_calibration=True, categorical_features="auto",
                 numeric_encoding="auto", batch_size=256,
                 max_iter="auto", beta_1=0.5, beta_2=0.999, epsilon=1e-8, random_state=None,
                 verbose=False, warm_start=False, device="cpu", n_threads="auto", precision=None,
                 deterministic=False):
        self.generator_hidden_layer_sizes = generator_hidden_layer_sizes
        self.discriminator_hidden_layer_sizes = discriminator_hidden_layer_sizes
        self.latent_dim = latent_dim
        self.generator_activation = generator_activation
        self.discriminator_activation = discriminator_activation
        self.generator_normalization = generator_normalization
        self.discriminator_normalization = discriminator_normalization
        self.loss = loss
        self.pac = pac
        self.spectral_norm = spectral_norm
        self.gradient_penalty = gradient_penalty
        self.label_smoothing = label_smoothing
        self.instance_noise = instance_noise
        self.discriminator_steps = discriminator_steps
        self.learning_rate = learning_rate
        self.learning_rate_init = learning_rate_init
        self.discriminator_learning_rate = discriminator_learning_rate
        self.generator_averaging = generator_averaging
        self.rejection_sampling = rejection_sampling
        self.marginal_calibration = marginal_calibration
        self.categorical_features = categorical_features
        self.numeric_encoding = numeric_encoding
        self.batch_size = batch_size
        self.max_iter = max_iter
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.random_state = random_state
        self.verbose = verbose
        self.warm_start = warm_start
        self.device = device
        self.n_threads = n_threads
        self.precision = precision
        self.deterministic = deterministic

    # ----------------------------------------------------------------- data
    def _validate_rows(self, X, reset):
        """Validate ``X`` (arrays, lists, DataFrames with categorical columns) as rows."""
        frame = X if _is_dataframe(X) else None
        spec = self.categorical_features
        if reset:
            if not hasattr(X, "shape") and spec is not None and not isinstance(spec, str):
                X = np.asarray(X, dtype=object)  # a list with categorical columns by index
            shape = getattr(X, "shape", ())
            categorical = categorical_indices(X, spec, shape[1]) if len(shape) == 2 else []
        else:
            categorical = self.categorical_features_
        dtype = None if categorical else (np.float64, np.float32)
        X = validate_data(self, X, reset=reset, dtype=dtype, ensure_min_samples=1)
        return X, categorical, frame

    # ------------------------------------------------------------------ fit
    #: ``max_iter="auto"``: about this many generator updates (optimizer steps) per fit
    _AUTO_STEPS = 3000
    #: bounds on the epochs ``max_iter="auto"`` resolves to
    _AUTO_MIN_EPOCHS = 1
    _AUTO_MAX_EPOCHS = 3000

    def _resolve_budget(self, n_samples):
        """``(batch_size_, max_iter_)``: rows per batch and epochs of a fit on ``n_samples`` rows."""
        batch = batch_rows(self.batch_size, n_samples, self.pac,
                           self.generator_normalization == "batch")
        if self.max_iter != "auto":
            return batch, int(self.max_iter)
        return batch, epochs_for_steps(self._AUTO_STEPS, steps_per_epoch(n_samples, batch),
                                       self._AUTO_MIN_EPOCHS, self._AUTO_MAX_EPOCHS)

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X: ArrayLike, y: ArrayLike | None = None) -> "GANSampler":
        """Train the generator and discriminator on the rows of ``X``.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_features)
            Training rows; a DataFrame's object/category/bool columns are
            categorical under ``categorical_features="auto"``.
        y : array-like of shape (n_samples,) or None, default=None
            Class labels; given, a conditional GAN is trained.

        Returns
        -------
        self : GANSampler
        """
        first_pass = not (self.warm_start and hasattr(self, "module_"))
        X, categorical, frame = self._validate_rows(X, reset=first_pass)
        conditional = y is not None
        if conditional:
            y = check_labels(y, X.shape[0])
        if not first_pass and conditional != (self.classes_ is not None):
            raise ValueError("warm_start fit must keep y given (or absent) as in the first fit.")
        rng = check_random_state(self.random_state)
        if first_pass:
            self.categorical_features_ = categorical
            self._encoder = TabularEncoder(
                categorical, {"auto": "auto", "mode_specific": True,
                              "standard": False}[self.numeric_encoding], rng).fit(X, frame)
            # The networks train in float32 whatever X is: the generator's noise
            # swamps float32 rounding, and float64 would double the cost.
            # Sampled rows come back in X's dtype.
            self._dtype = torch.float32
            self._out_dtype = "float32" if X.dtype == np.float32 else "float64"
            self.classes_, self.class_prior_ = None, None
            if conditional:
                self.classes_, counts = np.unique(y, return_counts=True)
                self.class_prior_ = counts / counts.sum()
        if conditional:
            unseen = np.setdiff1d(y, self.classes_)
            if unseen.size:
                raise ValueError(f"y has classes {unseen.tolist()} not seen in the first fit.")
        seed = int(rng.randint(np.iinfo(np.int32).max))
        device = resolve_device(self.device) if first_pass else self._training_device()
        check_precision(self.precision, device)
        with (torch_threads(self.n_threads), seeded(seed, device),
              deterministic_algorithms(self.deterministic, device)):
            if first_pass:
                self.device_ = str(device)
                self._module_args = (self._encoder.n_encoded,)
                self.module_ = self._build_module(*self._module_args)
                self.module_.to(device=device, dtype=self._dtype)
            self.batch_size_, self.max_iter_ = self._resolve_budget(X.shape[0])
            self.n_iter_ = 0
            self.loss_curve_ = {"discriminator": [], "generator": []}
            data = torch.as_tensor(self._encoder.encode(X, np.float64), dtype=self._dtype,
                                   device=device)
            cond = None
            if conditional:
                cond = one_hot_conditions(y, self.classes_, self._dtype, device)
            train_adversarial(self, self.module_, data, cond)
            self.module_.critic, self._calibration = None, None
            if self.marginal_calibration:
                calibrate = self._calibrator(X, data, y, rng, device)
                self._calibration = {"generator": calibrate(None, None)}
            if self.rejection_sampling:
                # a quarter of the generator's steps: the critic only has to
                # calibrate against the final, fixed generator
                steps = max(1, self.n_iter_ * steps_per_epoch(X.shape[0], self.batch_size_) // 4)
                bias = None if self._calibration is None else self._tensor(
                    self._calibration["generator"]["logit_bias"], device)
                train_critic(self, self.module_, data, cond, steps, bias)
                if self._calibration is not None:
                    self._calibration["rejection"] = calibrate(
                        self.module_.critic, self._calibration["generator"]["logit_bias"])
        return self

    def _calibrator(self, X, data, y, rng, device):
        """``calibrate(critic, bias)``: one sampling mode's marginal calibration.

        It returns the logit offsets, fitted from ``bias`` (None: zeros), and
        the numeric quantile maps of sampling through ``critic`` (None:
        without rejection); see ``marginal_calibration``.
        """
        n_groups = 1 if self.classes_ is None else len(self.classes_)
        groups = np.zeros(X.shape[0], dtype=int) if y is None else \
            np.searchsorted(self.classes_, y)
        codes = np.repeat(np.arange(n_groups), group_sizes(n_groups))
        encoder, encoded = self._encoder, data.cpu().numpy()
        blocks = encoder.blocks  # the modes of numeric columns, then the categories
        target = category_shares(encoded, blocks, groups, n_groups)
        train_numeric, train_modes = encoder._numeric(X), encoder.numeric_modes(encoded)
        generator = torch.Generator(device=device).manual_seed(
            int(rng.randint(np.iinfo(np.int32).max)))

        def draw(bias, critic):
            with torch.no_grad():
                rows = generate_rows(self.module_.sampler().eval(), critic,
                                     None if self.classes_ is None else codes,
                                     0 if self.classes_ is None else n_groups, len(codes),
                                     generator, device, self._dtype, self._tensor(bias, device))
            return rows.cpu().numpy()

        def calibrate(critic, bias):
            start = np.zeros((n_groups, data.shape[1]))
            if critic is None:  # offsets of the generator's logits
                bias, rows = fit_logit_bias(lambda b: draw(b, None), target, blocks, start,
                                            codes)
                out = {"logit_bias": bias}
            else:  # offsets of the critic's, the generator's fixed
                critic_bias, rows = fit_logit_bias(
                    lambda w: draw(bias, offset_critic(critic, self._tensor(w, device))),
                    target, blocks, start, codes)
                out = {"logit_bias": bias, "critic_bias": critic_bias}
            out["quantiles"] = fit_quantile_maps(
                encoder.decode_numeric(rows), encoder.numeric_modes(rows), codes, train_numeric,
                train_modes, groups, n_groups, encoder.n_modes)
            return out

        return calibrate

    def _rebuild_module(self, weights):
        module = super()._rebuild_module(weights)
        if any(name.startswith("critic.") for name in weights):  # fitted with rejection sampling
            n_conditions = 0 if self.classes_ is None else len(self.classes_)
            module.critic = make_critic(self, *self._module_args, n_conditions).eval()
        return module

    def _sizes(self, sizes, name):
        sizes = list(sizes) if hasattr(sizes, "__iter__") else [sizes]
        if not sizes or any(int(s) <= 0 for s in sizes):
            raise ValueError(f"{name} must be positive layer widths, got {sizes}.")
        return [int(s) for s in sizes]

    def _build_module(self, n_encoded):
        n_classes = 0 if self.classes_ is None else len(self.classes_)
        generator = Generator(self.latent_dim, n_classes,
                              self._sizes(self.generator_hidden_layer_sizes,
                                          "generator_hidden_layer_sizes"),
                              n_encoded, len(self._encoder.numeric), self._encoder.blocks,
                              self._encoder.bounded, self.generator_activation,
                              self.generator_normalization)
        self.discriminator_hidden_layer_sizes_ = self._sizes(
            self.discriminator_hidden_layer_sizes, "discriminator_hidden_layer_sizes")
        discriminator = Discriminator(n_encoded, n_classes,
                                      self.discriminator_hidden_layer_sizes_, self.pac,
                                      self.discriminator_activation,
                                      self.discriminator_normalization, self.spectral_norm)
        return GANModule(generator, discriminator, average=bool(self.generator_averaging))

    # --------------------------------------------------------------- sample
    def sample(self, n_samples: int = 1, *, y: ArrayLike | None = None,
               random_state: RandomState = None, return_y: bool = False) -> Any:
        """Generate new rows.

        Each categorical column, and the mode of each mode-encoded numeric
        column (``numeric_encoding``), is drawn from the generator's
        softmax over its categories (the distribution the discriminator saw
        in training), not taken as the most likely category.

        Parameters
        ----------
        n_samples : int, default=1
            Number of rows.
        y : label or array-like of shape (n_samples,), default=None
            Classes of the rows (conditional fits only); ``None`` draws the
            classes in their training proportions.
        random_state : int, RandomState instance or None, default=None
            Seeds the noise; an int gives identical samples on the CPU.
        return_y : bool, default=False
            Also return the class of each row (conditional fits).

        Returns
        -------
        X : ndarray or DataFrame of shape (n_samples, n_features_in_)
            Rows in the original scale; a DataFrame with the training columns
            and dtypes when ``fit`` saw one.
        y : ndarray of shape (n_samples,)
            Only with ``return_y=True``.
        """
        check_is_fitted(self)
        if not isinstance(n_samples, Integral) or isinstance(n_samples, bool) or n_samples < 1:
            raise ValueError(f"n_samples must be a positive integer, got {n_samples!r}.")
        rng = check_random_state(random_state)
        codes = draw_codes(self.classes_, self.class_prior_, y, n_samples, rng)
        device = self._inference_device()
        self.module_.to(device).eval()
        generator = torch.Generator(device=device).manual_seed(
            int(rng.randint(np.iinfo(np.int32).max)))
        with (torch_threads(self.n_threads), torch.no_grad(),
              deterministic_algorithms(self.deterministic, device)):
            critic = self.module_.critic if self.rejection_sampling else None
            if self.rejection_sampling and critic is None:
                raise ValueError("rejection_sampling=True needs a fit with rejection_sampling="
                                 "True (it trains the critic); refit or set it to False.")
            calibration = self._sampling_calibration(critic)
            bias = None
            if calibration is not None:
                bias = self._tensor(calibration["logit_bias"], device)
                if critic is not None:
                    critic = offset_critic(critic, self._tensor(calibration["critic_bias"],
                                                                device))
            n_classes = 0 if codes is None else len(self.classes_)
            rows = generate_rows(self.module_.sampler(), critic, codes, n_classes, n_samples,
                                 generator, device, self._dtype, bias).cpu().numpy()
        numeric = None
        if calibration is not None:
            numeric = apply_quantile_maps(
                self._encoder.decode_numeric(rows), self._encoder.numeric_modes(rows),
                np.zeros(n_samples, dtype=int) if codes is None else codes,
                calibration["quantiles"])
        X = self._encoder.decode(rows, self._out_dtype, numeric)
        if not _is_dataframe(X):
            X = _wrap_data_with_container("transform", X, None, self)
        if return_y:
            return X, None if codes is None else self.classes_[codes]
        return X

    def _tensor(self, array, device):
        return torch.as_tensor(array, dtype=self._dtype, device=device)

    def _sampling_calibration(self, critic):
        """The fitted marginal calibration ``sample`` applies (through ``critic``), or None."""
        if not self.marginal_calibration:
            return None
        if self._calibration is None:
            raise ValueError("marginal_calibration=True needs a fit with marginal_calibration="
                             "True; refit or set it to False.")
        return self._calibration["generator" if critic is None else "rejection"]

    def __setstate__(self, state):
        super().__setstate__(state)
        if "module_" in state and "_calibration" not in state:
            # saved before marginal_calibration existed: sample as it was fitted
            self.marginal_calibration, self._calibration = False, None

    # sklearn's output wrapper treats ``sample`` like a transformer's output
    _sklearn_auto_wrap_output_keys = {"transform"}

    def set_output(self, *, transform: str | None = None) -> "GANSampler":
        """Choose the container ``sample`` returns, as transformers' ``set_output`` does.

        Parameters
        ----------
        transform : {"default", "pandas", "polars"} or None, default=None
            ``"pandas"``/``"polars"``: ``sample`` returns a DataFrame with the
            columns of ``get_feature_names_out()``; ``"default"``: arrays
            (a DataFrame still when ``fit`` saw one); ``None``: unchanged.
            Without a call, sklearn's global ``transform_output`` applies.

        Returns
        -------
        self : GANSampler
        """
        if transform is None:
            return self
        if transform not in ("default", "pandas", "polars"):
            raise ValueError(f"transform must be 'default', 'pandas', 'polars' or None, "
                             f"got {transform!r}.")
        self._sklearn_output_config = {"transform": transform}
        return self

    def get_feature_names_out(self, input_features: ArrayLike | None = None) -> NDArray:
        """Names of the columns ``sample`` generates: the training columns.

        Parameters
        ----------
        input_features : array-like of str or None, default=None
            Checked against ``feature_names_in_`` when given.

        Returns
        -------
        feature_names_out : ndarray of str
            ``feature_names_in_`` when ``fit`` saw a DataFrame, else
            ``["x0", "x1", ...]``. With ``set_output(transform="pandas")``
            (or sklearn's ``transform_output`` config) ``sample`` returns a
            DataFrame with these columns.
        """
        check_is_fitted(self)
        return _check_feature_names_in(self, input_features)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.required = False
        tags.input_tags.categorical = True
        tags.input_tags.sparse = False  # rows are validated here, not by the base
        return tags
