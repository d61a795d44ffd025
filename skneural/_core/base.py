"""The base estimator: parameters, validation, device, seeding and the fit flow.

Subclasses describe a model; this class runs it. A subclass implements

- ``_validate_targets(y, reset, sample_weight)`` -> encoded numpy targets (sets ``classes_`` etc.)
- ``_build_module(n_features)`` -> ``torch.nn.Module`` producing raw outputs
- ``_data_loss(raw, target, weight)`` -> scalar tensor
- ``_score_from_raw(raw, target, weight)`` -> float, higher is better (``scoring=None``)
- ``_target_dtype`` (class attribute): ``"float"`` or ``torch.long``
"""

import inspect
import warnings
from typing import NamedTuple
from numbers import Integral, Real

import numpy as np
import scipy.sparse
import torch
from sklearn.base import BaseEstimator
from sklearn.exceptions import DataConversionWarning
from sklearn.metrics import check_scoring
from sklearn.model_selection import train_test_split
from sklearn.utils import _safe_indexing, check_array, check_consistent_length

from .device import (available_device, check_precision, deterministic_algorithms,
                     resolve_device, seeded, torch_threads)
from .engine import train_lbfgs, train_stochastic
from .losses import LOSSES
from .optimizers import STOCHASTIC_SOLVERS, make_optimizer
from .regularizers import attach_prior
from .validation import (
    Interval,
    Options,
    StrOptions,
    _check_sample_weight,
    as_tensor,
    check_is_fitted,
    check_random_state,
    validate_data,
)

SOLVERS = {"lbfgs", *STOCHASTIC_SOLVERS}
PREDICT_CHUNK_ELEMENTS = 2**24  # inputs per forward pass at predict time (64 MiB of float32)
MAX_DENSE_ELEMENTS = 2**28  # sparse X is densified up to this many values (1 GiB of float32)


def to_numpy(obj):
    """``obj`` (nested dicts, lists, tuples) with every tensor as a CPU numpy array."""
    if isinstance(obj, torch.Tensor):
        return obj.detach().to("cpu").numpy().copy()
    if isinstance(obj, dict):
        return {key: to_numpy(value) for key, value in obj.items()}
    if isinstance(obj, (list, tuple)):
        return type(obj)(to_numpy(value) for value in obj)
    return obj


def to_tensors(obj):
    """The inverse of :func:`to_numpy`: every numpy array (0-d included) as a tensor."""
    if isinstance(obj, np.ndarray):
        return torch.tensor(obj)
    if isinstance(obj, dict):
        return {key: to_tensors(value) for key, value in obj.items()}
    if isinstance(obj, (list, tuple)):
        return type(obj)(to_tensors(value) for value in obj)
    return obj


def densify(X):
    """Dense rows for the network: sparse input is densified below ``MAX_DENSE_ELEMENTS``.

    Networks multiply dense matrices; a sparse ``X`` (TF-IDF, one-hot) is
    converted once, with a warning, when it fits comfortably in memory, and
    refused with a clear error when it would not.
    """
    if not scipy.sparse.issparse(X):
        return X
    n_elements = X.shape[0] * X.shape[1]
    if n_elements > MAX_DENSE_ELEMENTS:
        raise ValueError(
            f"Sparse X of shape {X.shape} would take {n_elements * X.dtype.itemsize / 2**30:.1f} "
            f"GiB dense; skneural densifies sparse input only up to {MAX_DENSE_ELEMENTS:,} "
            "values. Reduce the dimension first (e.g. TruncatedSVD) or pass smaller batches "
            "to partial_fit."
        )
    warnings.warn(f"Sparse X of shape {X.shape} is densified for the network.",
                  DataConversionWarning)
    return X.toarray()


#: the dropout layers ``mc_dropout`` switches on at predict time
DROPOUT_LAYERS = (torch.nn.Dropout, torch.nn.Dropout1d, torch.nn.Dropout2d, torch.nn.Dropout3d,
                  torch.nn.AlphaDropout)


def _dropout_layers(module):
    """The dropout layers of ``module`` that drop anything (rate > 0)."""
    return [m for m in module.modules() if isinstance(m, DROPOUT_LAYERS) and m.p > 0]


class ValidationSet(NamedTuple):
    """Validation rows: the network's tensors, and the rows as given for scorers."""

    inputs: tuple
    target: torch.Tensor
    weight: torch.Tensor | None
    X_given: object
    y_given: object
    w_given: np.ndarray | None


def _drop_weightless_rows(X, y, sample_weight):
    """Remove rows of weight 0: they are absent by definition (batches, statistics, splits)."""
    keep = sample_weight > 0
    if keep.all():
        return X, y, sample_weight
    if not keep.any():
        raise ValueError("sample_weight is zero for every sample; at least one sample "
                         "needs a positive weight.")
    return X[keep], y[keep], sample_weight[keep]


class BaseNeuralEstimator(BaseEstimator):
    """Shared machinery of every skneural estimator (not for direct use)."""

    _parameter_constraints: dict = {
        "solver": [StrOptions(SOLVERS | {"auto"})],
        "alpha": [Interval(Real, 0, None, closed="left")],
        "batch_size": [StrOptions({"auto"}), Interval(Integral, 1, None, closed="left")],
        "learning_rate": [StrOptions({"constant", "invscaling", "adaptive", "cosine"})],
        "learning_rate_init": [Interval(Real, 0, None, closed="neither")],
        "power_t": [Interval(Real, 0, None, closed="left")],
        "max_iter": [StrOptions({"auto"}), Interval(Integral, 1, None, closed="left")],
        "shuffle": ["boolean"],
        "random_state": ["random_state"],
        "tol": [Interval(Real, 0, None, closed="left")],
        "verbose": ["verbose"],
        "warm_start": ["boolean"],
        "momentum": [Interval(Real, 0, 1, closed="both")],
        "nesterovs_momentum": ["boolean"],
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
        "beta_1": [Interval(Real, 0, 1, closed="left")],
        "beta_2": [Interval(Real, 0, 1, closed="left")],
        "epsilon": [Interval(Real, 0, None, closed="neither")],
        "n_iter_no_change": [StrOptions({"auto"}), Interval(Integral, 1, None, closed="left"),
                             Options(Real, {np.inf})],
        "max_fun": [Interval(Integral, 1, None, closed="left")],
        "clip_grad_norm": [None, Interval(Real, 0, None, closed="neither")],
        "device": [str, torch.device],
        "n_threads": [None, StrOptions({"auto"}), Interval(Integral, 1, None, closed="left")],
        "precision": [None, StrOptions({"bf16", "fp16"})],
        "deterministic": ["boolean"],
        "scoring": [None, str, callable],
        "weight_averaging": [None, StrOptions({"swa", "ema"})],
        "averaging_start": [Interval(Integral, 0, None, closed="left"),
                            Interval(Real, 0, 1, closed="neither")],
        "averaging_decay": [Interval(Real, 0, 1, closed="neither")],
    }

    _target_dtype = "float"

    # The training budget of ``max_iter="auto"``, counted in optimizer steps so that
    # small and large data sets get the same amount of training (engine.resolve_budget);
    # each estimator's docstring states its values.
    _AUTO_STEPS = 2000
    _AUTO_MIN_EPOCHS = 10
    _AUTO_MAX_EPOCHS = 2000
    _AUTO_LBFGS_ITER = 200
    _AUTO_PATIENCE_STEPS = 500  # n_iter_no_change="auto"

    def _auto_batch_size(self, n_samples):
        """``batch_size="auto"``: sklearn's ``min(200, n_samples)``."""
        return min(200, n_samples)

    # ----------------------------------------------------------------- data
    def _validate_X(self, X, reset):
        """Validate X as sklearn does; the compute dtype follows X (float32 stays float32)."""
        X = validate_data(self, X, reset=reset, dtype=(np.float64, np.float32),
                          accept_sparse="csr", ensure_min_samples=1)
        return densify(X)

    def _validate_Xy(self, X, y, reset):
        X, y = validate_data(self, X, y, reset=reset, dtype=(np.float64, np.float32),
                             accept_sparse="csr", multi_output=True, y_numeric=False)
        return densify(X), y

    def _data_loss(self, raw, target, weight):
        """The loss named by ``_loss_name`` from the table in ``_losses.py``."""
        return LOSSES[self._loss_name](raw, target, weight)

    def _manual_step(self):
        """An exact autograd-free ``step(inputs, target, weight, decay) -> loss`` or ``None``.

        The callable computes one batch's data loss and writes its gradient,
        plus ``decay`` times each weight matrix (sklearn's L2 gradient), into
        the parameters' ``.grad``; the engine then steps the optimizer.
        """
        return None

    def _inputs(self, X, device):
        """Tensors the module consumes for rows ``X`` (a tuple; subclasses may add masks)."""
        return (as_tensor(X, self._dtype, device),)

    def _target_tensor(self, y, device):
        dtype = self._dtype if self._target_dtype == "float" else self._target_dtype
        return as_tensor(y, dtype, device)

    # ---------------------------------------------------------------- fit flow
    def _fit(self, X, y, sample_weight=None, incremental=False, X_val=None, y_val=None,
             sample_weight_val=None):
        first_pass = not hasattr(self, "module_") or (not self.warm_start and not incremental)
        if incremental and self.solver not in (*STOCHASTIC_SOLVERS, "auto"):
            raise ValueError(
                f"partial_fit is only available for stochastic solvers "
                f"{sorted(STOCHASTIC_SOLVERS)}, not solver={self.solver!r}."
            )
        if incremental and self.early_stopping:
            raise ValueError("partial_fit does not support early_stopping=True.")
        given_val = self._check_val_arguments(X_val, y_val, sample_weight_val)
        X, y = self._validate_Xy(X, y, reset=first_pass)
        self.solver_ = self._resolve_solver(X.shape[0], incremental)
        self._check_deterministic_objective()
        if given_val and self.solver_ == "lbfgs":
            raise ValueError(
                "X_val and y_val are used for early stopping, which solver='lbfgs' does not "
                "do (it has no epochs to stop between); use a stochastic solver."
            )
        if sample_weight is not None:
            sample_weight = _check_sample_weight(sample_weight, X, dtype=X.dtype)
        sample_weight = self._finalize_sample_weight(sample_weight, y, incremental)
        y = self._validate_targets(y, reset=first_pass, sample_weight=sample_weight)
        if sample_weight is not None:
            X, y, sample_weight = _drop_weightless_rows(X, y, sample_weight)
        if first_pass:
            # autocast lowers float32 only: a mixed-precision fit keeps float32 master weights
            double = X.dtype == np.float64 and getattr(self, "precision", None) is None
            self._dtype = torch.float64 if double else torch.float32
        val_data = self._validate_val(X_val, y_val, sample_weight_val, X) if given_val else None

        # partial_fit calls after the first continue the first call's random stream, so
        # each one draws new shuffles and dropout masks (sklearn replays them)
        rng = self._rng if incremental and not first_pass else check_random_state(self.random_state)
        self._rng = rng
        seed = int(rng.randint(np.iinfo(np.int32).max))
        split = None if given_val else self._split_indices(X, y, rng)
        if first_pass:
            # scaling statistics come from the training rows only, never the validation rows
            rows = slice(None) if split is None else split[0]
            w_rows = None if sample_weight is None else sample_weight[rows]
            self._learn_statistics(X[rows], y[rows], w_rows)
            self._learn_input_statistics(X[rows], w_rows)
        y = self._scale_targets(y)
        if val_data is not None:
            val_data = (val_data[0], self._scale_targets(val_data[1]), *val_data[2:])
        device = resolve_device(self.device) if first_pass else self._training_device()
        check_precision(getattr(self, "precision", None), device)
        with (torch_threads(self.n_threads), seeded(seed, device),
              deterministic_algorithms(getattr(self, "deterministic", False), device)):
            if first_pass:
                self.device_ = str(device)
                self._module_args = (X.shape[1],)
                module = attach_prior(self, self._build_module(*self._module_args))
                self.module_ = module.to(device=device, dtype=self._dtype)
                self._optimizer = None
                self._reset_history()
            elif self.solver_ != "lbfgs" and not hasattr(self, "loss_curve_"):
                # solver="auto": a partial_fit (adam) continues a fit that lbfgs made;
                # the stochastic history starts here, the epoch count goes on
                n_iter, t = self.n_iter_, self.t_
                self._optimizer = None
                self._reset_history()
                self.n_iter_, self.t_ = n_iter, t
            self._check_mc_dropout()
            if val_data is None:
                train, val, rows = self._split(X, y, sample_weight, split, device)
            else:
                train, val, rows = self._split(X, y, sample_weight, None, device)
                val = self._validation_set(*val_data, device)
            if self.solver_ == "lbfgs":
                train_lbfgs(self, train)
            else:
                self._scorer = self._make_scorer() if val is not None else None
                try:
                    train_stochastic(self, train, val, incremental=incremental, rows=rows)
                finally:
                    self._scorer = None
        return self

    # ------------------------------------------------------- validation data
    def _check_val_arguments(self, X_val, y_val, sample_weight_val):
        """Whether validation data was given, refusing incomplete or unusable arguments."""
        if X_val is None and y_val is None:
            if sample_weight_val is not None:
                raise ValueError("sample_weight_val is provided, but X_val and y_val were not.")
            return False
        if y_val is None:
            raise ValueError("X_val is provided, but y_val was not provided.")
        if X_val is None:
            raise ValueError("y_val is provided, but X_val was not provided.")
        if not self.early_stopping:
            raise ValueError(
                "X_val and y_val are passed to fit while at the same time early_stopping is "
                "False. When passing X_val and y_val to fit, early_stopping should be True "
                "(with n_iter_no_change=np.inf to monitor the validation loss without "
                "stopping)."
            )
        return True

    def _validate_val(self, X_val, y_val, sample_weight_val, X):
        """Validated ``(X, y_encoded, weight, X_given, y_given, weight_given)`` of ``X_val``.

        ``X_val`` is checked like ``X`` at predict time (its features must be
        the training features), ``y_val`` like ``y`` in a second fit (no new
        classes, the same number of outputs); rows of weight 0 are dropped.
        """
        X_checked = self._validate_X(X_val, reset=False)
        if self._target_dtype == "float" and not hasattr(self, "classes_"):
            y_checked = check_array(y_val, ensure_2d=False, dtype=X_checked.dtype,
                                    input_name="y_val")
        else:
            y_checked = check_array(y_val, ensure_2d=False, dtype=None, input_name="y_val")
        check_consistent_length(X_checked, y_checked)
        try:
            y_encoded = self._validate_targets(y_checked, reset=False)
        except ValueError as exc:
            raise ValueError(f"Invalid y_val: {exc}") from exc
        w = None
        if sample_weight_val is not None:
            w = _check_sample_weight(sample_weight_val, X_checked, dtype=X.dtype,
                                     allow_all_zero_weights=True)
            if np.any(w < 0):
                raise ValueError("sample_weight_val cannot contain negative weights.")
            keep = w > 0
            if not keep.any():
                raise ValueError("sample_weight_val is zero for every sample; at least one "
                                 "validation sample needs a positive weight.")
            if not keep.all():
                X_checked, y_encoded, w = X_checked[keep], y_encoded[keep], w[keep]
                X_val, y_checked = _safe_indexing(X_val, np.flatnonzero(keep)), y_checked[keep]
        return X_checked, y_encoded, w, X_val, y_checked, w

    def _validation_set(self, X, y, weight, X_given, y_given, w_given, device):
        """The tensors of validation rows, with the rows as given for scorers."""
        return ValidationSet(
            self._inputs(X, device), self._target_tensor(y, device),
            None if weight is None else as_tensor(weight, self._dtype, device),
            X_given, y_given, w_given)

    def _finalize_sample_weight(self, sample_weight, y, incremental=False):
        """The training weights: ``sample_weight`` (classifiers multiply in ``class_weight``)."""
        return sample_weight

    def _make_scorer(self):
        """The scorer of ``scoring`` (``None`` for ``"loss"`` and the estimator's own score)."""
        if self.scoring is None or self.scoring == "loss":
            return None
        return check_scoring(self, scoring=self.scoring)

    def _validation_loss(self, raw, target, weight):
        """The data loss on validation rows (``validation_loss_curve_``)."""
        return self._data_loss(raw, target, weight)

    def _score_from_raw(self, raw, target, weight):
        """The estimator's own score (``score``'s metric) from validation outputs."""
        raise NotImplementedError

    def _validation_step(self, module, val):
        """``(loss, score)`` of ``module`` on the validation set: what early stopping reads.

        The loss is the data loss (no penalty), in ``loss_curve_``'s units;
        the score is higher-is-better: the negative loss for
        ``scoring="loss"``, the estimator's score for ``scoring=None``, or the
        scorer's value on the rows as given.
        """
        raw = self._validation_output(module, val.inputs)
        target = val.target.to("cpu")
        if target.is_floating_point():
            target = target.to(torch.float64)
        weight = None if val.weight is None else val.weight.to("cpu", torch.float64)
        loss = float(self._validation_loss(raw, target, weight))
        if self.scoring == "loss":
            return loss, -loss
        if self._scorer is None:
            return loss, float(self._score_from_raw(raw, target, weight))
        kwargs = {} if val.w_given is None else {"sample_weight": val.w_given}
        try:
            with warnings.catch_warnings():
                # the internal split's rows are validated arrays, without X's column names
                warnings.filterwarnings("ignore", message="X does not have valid feature names")
                score = float(self._scorer(self, val.X_given, val.y_given, **kwargs))
        finally:
            module.train()
        return loss, score

    def _learn_statistics(self, X, y, sample_weight):
        """Learn input or target scaling from the training rows (first fit only); none here."""

    def _learn_input_statistics(self, X, sample_weight):
        """Statistics of the training rows' inputs the network is built with (none here)."""

    def _scale_targets(self, y):
        """Targets as the network trains on them (after ``_learn_statistics``); unchanged here."""
        return y

    #: parameters whose non-zero values draw random numbers in every training step
    _RANDOM_TECHNIQUES = ("dropout", "spatial_dropout", "input_noise", "weight_noise",
                          "dropconnect", "adversarial")

    #: ``solver="auto"`` picks ``"lbfgs"`` up to this many training rows
    _AUTO_LBFGS_MAX_ROWS = 10_000

    def _random_techniques(self):
        """The names of the parameters set to draw random numbers in every step."""
        return [name for name in self._RANDOM_TECHNIQUES
                if np.any(np.asarray(getattr(self, name, 0.0), dtype=np.float64) > 0)]

    def _resolve_solver(self, n_samples, incremental):
        """``solver``, with ``"auto"`` resolved for a fit on ``n_samples`` rows.

        ``"auto"`` is full-batch ``"lbfgs"`` where its line search applies (at
        most ``_AUTO_LBFGS_MAX_ROWS`` rows, a deterministic objective, no early
        stopping, not ``partial_fit``), else ``"adam"``.
        """
        if self.solver != "auto":
            return self.solver
        stochastic = (incremental or self.early_stopping or n_samples > self._AUTO_LBFGS_MAX_ROWS
                      or self._random_techniques() or self._counts_epochs()
                      or getattr(self, "precision", None) is not None)
        return "adam" if stochastic else "lbfgs"

    def _counts_epochs(self):
        """Whether a parameter is set that counts epochs (``penalty_start_epoch``, averaging)."""
        return (getattr(self, "penalty_start_epoch", 0) > 0
                or getattr(self, "weight_averaging", None) is not None)

    def _check_deterministic_objective(self):
        """L-BFGS's line search compares losses at nearby points: refuse random objectives."""
        if self.solver_ != "lbfgs":
            return
        random = self._random_techniques()
        if random:
            name = random[0]
            raise ValueError(
                f"{name}={getattr(self, name)!r} draws random numbers in every step, but "
                "solver='lbfgs' needs a deterministic objective for its line search. "
                f"Use a stochastic solver (e.g. solver='adam') or set {name}=0."
            )
        if getattr(self, "weight_averaging", None) is not None:
            raise ValueError(
                f"weight_averaging={self.weight_averaging!r} averages the weights of "
                "epochs, which solver='lbfgs' does not have; use a stochastic solver or "
                "weight_averaging=None."
            )
        if self._counts_epochs():
            raise ValueError(
                f"penalty_start_epoch={self.penalty_start_epoch} counts epochs, which "
                "solver='lbfgs' does not have; use a stochastic solver or "
                "penalty_start_epoch=0."
            )
        if getattr(self, "precision", None) is not None:
            raise ValueError(
                f"precision={self.precision!r} trains in mixed precision, whose rounding "
                "noise L-BFGS's line search cannot tell from a change of the loss; use a "
                "stochastic solver (e.g. solver='adam') or precision=None."
            )

    def _check_mc_dropout(self):
        """``mc_dropout`` passes differ only through dropout: refuse them without any."""
        if getattr(self, "mc_dropout", 0) and not _dropout_layers(self.module_):
            raise ValueError(
                f"mc_dropout={self.mc_dropout} averages passes with dropout on, but this "
                f"{type(self).__name__} has no dropout layer, so every pass is the same. "
                "Set dropout > 0 (and fit again) or mc_dropout=0."
            )

    def _training_device(self):
        """The device a continued fit (``warm_start``, ``partial_fit``) trains on.

        The fit's device when present here; a model fitted on a GPU and
        loaded on a machine without one continues on the CPU, with a warning.
        The network and the optimizer state are moved where needed.
        """
        device = self._inference_device()
        if device != torch.device(self.device_):
            warnings.warn(
                f"{type(self).__name__} was fitted on {self.device_!r}, which this machine "
                f"does not have; training continues on {str(device)!r}.", UserWarning)
            self.device_ = str(device)
        if next(self.module_.parameters()).device != device:
            optimizer = getattr(self, "_optimizer", None)
            state = optimizer.state_dict() if optimizer is not None else None
            self.module_.to(device)
            if state is not None:  # load_state_dict casts the state to the parameters' device
                self._optimizer = make_optimizer(self, self.module_)
                self._optimizer.load_state_dict(state)
        return device

    def _reset_history(self):
        """sklearn's ``_initialize`` for the history attributes."""
        self.n_iter_ = 0
        self.t_ = 0
        self.gradient_norms_ = []
        self.loss_ = np.inf
        self.validation_loss_curve_ = None
        if self.solver_ == "lbfgs":
            self.best_loss_ = None
            self.validation_scores_ = self.best_validation_score_ = None
            return
        self.loss_curve_ = []
        self._no_improvement_count = 0
        if self.early_stopping:
            self.validation_loss_curve_ = []
            self.validation_scores_ = []
            self.best_validation_score_ = -np.inf
            self.best_loss_ = None
        else:
            self.best_loss_ = np.inf
            self.validation_scores_ = self.best_validation_score_ = None

    def _stratify(self, y):
        """Labels to stratify the validation split by, or ``None``."""
        return None

    def _split_indices(self, X, y, rng):
        """``(train_idx, val_idx)`` holding out ``validation_fraction`` for early stopping, or ``None``."""
        if not (self.early_stopping and self.solver_ != "lbfgs"):
            return None
        try:
            train_idx, val_idx = train_test_split(
                np.arange(X.shape[0]), test_size=self.validation_fraction,
                random_state=rng, stratify=self._stratify(y))
        except ValueError as exc:
            raise ValueError(
                f"Cannot hold out validation_fraction={self.validation_fraction} of "
                f"{X.shape[0]} samples for early stopping ({exc}). Increase "
                "validation_fraction, add data, or set early_stopping=False."
            ) from exc
        if len(val_idx) < 2:
            raise ValueError(
                "The validation set is too small. Increase 'validation_fraction' "
                "or the size of your dataset."
            )
        return train_idx, val_idx

    def _split(self, X, y, sample_weight, split, device):
        """Tensors of the training and validation rows of ``split`` (see ``_split_indices``).

        Returns ``(train, val, rows)``: the training tuple covers all rows and
        ``rows`` lists the training ones, so holding out a validation set
        copies only the validation rows, never the training data.
        """
        val = rows = None
        if split is not None:
            train_idx, val_idx = split
            w_val = None if sample_weight is None else sample_weight[val_idx]
            # scorers predict from the rows as validated, with the labels as given
            y_labels = self._labels_of(y[val_idx])
            val = self._validation_set(X[val_idx], y[val_idx], w_val, X[val_idx], y_labels,
                                       w_val, device)
            rows = torch.as_tensor(train_idx, device=device)
        weight = None if sample_weight is None else as_tensor(sample_weight, self._dtype, device)
        return (self._inputs(X, device), self._target_tensor(y, device), weight), val, rows

    # ---------------------------------------------------------------- predict
    def _inference_device(self):
        """The fit's device when present here, else the CPU (a GPU model loaded on a laptop)."""
        return available_device(self.device_)

    def _raw_output(self, X, module=None, dropout_on=False):
        """Raw network outputs for validated rows ``X``, in bounded chunks, as a tensor on the CPU."""
        module = self.module_ if module is None else module
        device = self._inference_device()
        # .to() and .eval() walk every submodule: worth skipping on the single-row path
        if next(module.parameters()).device != device:
            module.to(device)
        if module.training or dropout_on:
            module.eval()
        if dropout_on:
            for m in _dropout_layers(module):
                m.train()
        n_rows = X.shape[0]
        chunk = max(1, PREDICT_CHUNK_ELEMENTS // max(1, int(np.prod(X.shape[1:]))))
        outputs = []
        with (torch_threads(self.n_threads), torch.inference_mode(),
              deterministic_algorithms(getattr(self, "deterministic", False), device)):
            for start in range(0, n_rows, chunk):
                inputs = self._inputs(X[start:start + chunk], device)
                outputs.append(module(*inputs).to("cpu", torch.float64))
        if dropout_on:
            module.eval()
        raw = torch.cat(outputs) if len(outputs) > 1 else outputs[0]
        # a sum is finite iff every entry is (bar overflow): one reduction, not a mask
        if not (np.isfinite(float(raw.sum())) or torch.isfinite(raw).all()):
            raise ValueError(
                f"{type(self).__name__} produced non-finite outputs for these inputs "
                "(values far outside the training range, or weights from a diverged "
                "fit); refusing to return NaN predictions."
            )
        return raw

    def _jacobian_to_input(self, jacobian, X):
        """Map a Jacobian w.r.t. the network's input tensor to one w.r.t. the rows ``X``.

        The network's input is ``X`` reshaped (the ConvNet's images), so the
        default flattens each output's gradient back to ``X``'s columns.
        """
        return jacobian.reshape(jacobian.shape[0], jacobian.shape[1], -1)

    def _validation_output(self, module, inputs):
        """Raw outputs on validation inputs in eval mode, as float64 on the CPU."""
        module.eval()
        with torch.no_grad():
            raw = module(*inputs)
        module.train()
        return raw.to("cpu", torch.float64)

    def _predict_raws(self, X, validated=False):
        """Raw outputs of one deterministic pass, or of ``mc_dropout`` passes with dropout on.

        Monte-Carlo dropout treats the network as the ensemble of its thinned
        sub-networks (seed 003); the passes are seeded by ``random_state`` so
        predictions stay reproducible. Normalization layers keep using their
        running statistics. ``validated`` says ``X`` has been validated already.
        """
        check_is_fitted(self)
        if not validated:
            X = self._validate_X(X, reset=False)
        n_passes = getattr(self, "mc_dropout", 0)
        if not n_passes:
            return [self._raw_output(X)]
        self._check_mc_dropout()
        seed = int(check_random_state(self.random_state).randint(np.iinfo(np.int32).max))
        with seeded(seed, self._inference_device()):
            return [self._raw_output(X, dropout_on=True) for _ in range(n_passes)]

    # ------------------------------------------------------------ persistence
    def __getstate__(self):
        """The fitted state as numpy arrays and plain Python values, no torch objects.

        The network is saved as its ``state_dict`` (CPU arrays) and rebuilt
        from the hyper-parameters on loading, the optimizer as its state. So
        pickle/joblib files carry CPU weights whatever device the fit ran on,
        and ``skops.io`` can save and load every estimator without unpickling
        torch objects (see ``skneural.TRUSTED_TYPES``).
        """
        state = dict(super().__getstate__())  # object.__getstate__ hands out __dict__ itself
        state.pop("_best_state", None)
        state.pop("_grad_scaler", None)  # its scale is re-learned in a few steps
        if state.get("module_") is not None:
            state["module_"] = to_numpy(state["module_"].state_dict())
        if state.get("_optimizer") is not None:
            state["_optimizer"] = to_numpy(state["_optimizer"].state_dict())
        if isinstance(state.get("_dtype"), torch.dtype):
            state["_dtype"] = str(state["_dtype"]).removeprefix("torch.")
        return state

    def __setstate__(self, state):
        super().__setstate__(state)
        # a parameter added after the file was written takes its default, which
        # reproduces the behaviour the file was fitted with (e.g. component="gaussian")
        defaults = inspect.signature(type(self).__init__).parameters
        for name in self._get_param_names():
            if name not in self.__dict__:
                setattr(self, name, defaults[name].default)
        if "module_" in state and "solver" in state and "solver_" not in state:
            self.solver_ = self.solver  # saved before solver="auto" existed
        if isinstance(self.__dict__.get("_dtype"), str):
            self._dtype = getattr(torch, self._dtype)
        if isinstance(self.__dict__.get("module_"), dict):
            self.module_ = self._restore_module(self.module_)
        if isinstance(self.__dict__.get("_optimizer"), dict):
            optimizer = make_optimizer(self, self.module_)
            optimizer.load_state_dict(to_tensors(self._optimizer))
            self._optimizer = optimizer

    def _rebuild_module(self, weights):
        """An untrained network of the fitted architecture, ready for ``weights``."""
        return attach_prior(self, self._build_module(*self._module_args))

    def _restore_module(self, weights):
        # building draws initial weights: keep torch's global random stream untouched
        with torch.random.fork_rng(devices=[]):
            module = self._rebuild_module(weights).to(dtype=self._dtype)
        try:
            module.load_state_dict(to_tensors(weights))
        except RuntimeError as exc:
            raise ValueError(
                f"Cannot restore the saved {type(self).__name__}: its weights do not fit "
                "the network its parameters describe (were parameters changed with "
                "set_params after fitting?)."
            ) from exc
        return module

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.non_deterministic = False
        tags.input_tags.sparse = True  # the base's validation densifies sparse X (see densify)
        return tags
