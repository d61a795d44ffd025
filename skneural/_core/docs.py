"""Parameter descriptions shared by every estimator's docstring.

Each estimator's docstring names ``{engine_parameters}`` where these belong;
``fill_doc`` substitutes them, so one engine parameter is documented once.
"""

import inspect
import re

ENGINE_PARAMETERS = """\
solver : {"adam", "sgd", "adamw", "adagrad", "rmsprop", "adadelta", "lbfgs", "auto"}, default="adam"
        The optimizer. ``"auto"`` is ``"lbfgs"`` for fits of at most 10,000
        rows whose objective is deterministic (no random technique below, no
        ``early_stopping``, not ``partial_fit``) and ``"adam"`` otherwise; the
        solver used is recorded in ``solver_``. ``"sgd"`` uses ``momentum``
        and ``nesterovs_momentum``;
        ``"adam"``/``"adamw"`` use ``beta_1``, ``beta_2``, ``epsilon``;
        ``"rmsprop"`` uses ``beta_2`` as its smoothing constant and
        ``momentum`` as its momentum; ``"adagrad"`` uses ``epsilon``;
        ``"adadelta"`` uses ``beta_2`` as its decay ``rho`` and ``epsilon``,
        and steps with torch's ``lr = 1000 * learning_rate_init``, so the
        default 0.001 is Zeiler's ``lr = 1``. ``"lbfgs"`` is full-batch
        L-BFGS-B from scipy, as in sklearn, and respects ``max_iter``,
        ``max_fun`` and ``tol``; its line search needs a deterministic
        objective, so with ``"lbfgs"`` the random techniques (``dropout``,
        ``input_noise``, ``weight_noise``, ``dropconnect``, ``adversarial``,
        data augmentation) and ``penalty_start_epoch > 0`` raise
        ``ValueError``. As in sklearn, the stochastic solvers' own parameters
        (``batch_size``, ``learning_rate*``, ``momentum``, ``shuffle``,
        ``early_stopping``...) are not used by ``"lbfgs"``.

    alpha : float, default=0.0001
        Strength of the L2 penalty, with sklearn's meaning: the loss gains
        ``0.5 * alpha * ||W||^2 / batch_weight`` where ``W`` are the weight
        matrices (biases and normalization parameters are not penalized), so
        grid ranges carry over from sklearn. With ``solver="adamw"`` it is
        AdamW's decoupled weight decay instead.

    batch_size : int or "auto", default=DEFAULT
        Mini-batch size; ``"auto"`` is [[auto_batch_size]]. The size used is
        recorded in ``batch_size_``.

    learning_rate : {"constant", "invscaling", "adaptive", "cosine"}, default=DEFAULT
        Step-size schedule. ``"invscaling"`` and ``"adaptive"`` apply to
        ``solver="sgd"`` as in sklearn. ``"cosine"`` applies to every
        stochastic solver: the step size falls from ``learning_rate_init`` to
        0 along a half cosine over the ``max_iter_`` epochs of each ``fit``
        (over the epochs of all ``partial_fit`` calls). A fit that runs the
        whole cosine has annealed to a step size of 0, so it ends without the
        ``ConvergenceWarning`` a constant step size gives at ``max_iter_``.

    learning_rate_init : float, default=DEFAULT
        Initial step size of the stochastic solvers.

    power_t : float, default=0.5
        Exponent of the ``"invscaling"`` schedule.

    max_iter : int or "auto", default=DEFAULT
        Maximum number of epochs (iterations for ``"lbfgs"``). ``"auto"``
        counts the budget in optimizer steps, so that one batch an epoch
        and a hundred get the same training: the epochs that make
        [[auto_steps]] steps at the fit's batches per epoch (at least
        [[auto_min_epochs]], at most [[auto_max_epochs]]); [[auto_lbfgs_iter]]
        iterations for ``"lbfgs"``. The resolved value is recorded in
        ``max_iter_``.

    shuffle : bool, default=True
        Whether to reshuffle the rows every epoch.

    random_state : int, RandomState instance or None, default=None
        Seeds weight initialisation, shuffling, dropout and the validation
        split. An int gives bitwise-identical fits on the CPU (same machine,
        torch build and ``n_threads``). On CUDA the same random numbers are
        drawn, but some kernels (atomics in scatter/index backward passes,
        cuBLAS's and cuDNN's algorithm choices) may round differently from
        run to run, so refits agree to rounding and can drift apart over
        many epochs; ``deterministic=True`` makes them bitwise repeatable on
        the same GPU and software.

    tol : float, default=1e-4
        Improvement of the loss (or validation score) below which an epoch
        counts as no improvement.

    verbose : bool, default=False
        Show a progress bar (tqdm, if installed) with loss and validation
        score; with ``solver="lbfgs"``, print the loss of every iteration.

    warm_start : bool, default=False
        Reuse the fitted weights as the starting point of the next ``fit``.
        As in sklearn, ``fit`` then starts a fresh optimizer (its moments and
        step-size schedule are reset) and a fresh history; ``partial_fit``
        keeps the optimizer state.

    momentum : float, default=0.9
        Momentum of ``"sgd"`` and ``"rmsprop"``.

    nesterovs_momentum : bool, default=True
        Use Nesterov's momentum with ``"sgd"``.

    early_stopping : bool, default=False
        Hold out ``validation_fraction`` of the data (stratified for
        classifiers), stop when the validation score has not improved by
        ``tol`` for ``n_iter_no_change`` epochs, and restore the weights of
        the best epoch.

    validation_fraction : float, default=0.1
        Share of the training data held out for early stopping. Not used
        when ``fit`` is given ``X_val`` and ``y_val``: those rows are the
        validation set and every row of ``X`` trains.

    scoring : str, callable, "loss" or None, default=DEFAULT
        What early stopping compares on the validation rows, as in
        :class:`~sklearn.ensemble.HistGradientBoostingClassifier`:
        ``"loss"`` is the validation loss (``validation_scores_`` holds its
        negative); ``None`` is the estimator's ``score`` metric (accuracy,
        R^2, the MDN's mean log-likelihood), sklearn's MLP behaviour; a
        scorer name (``"neg_log_loss"``, ``"roc_auc"``...) or a callable
        ``scorer(estimator, X_val, y_val)`` is called on the rows as given.
        The validation loss is recorded in ``validation_loss_curve_``
        whatever is compared.

    weight_averaging : {"swa", "ema"} or None, default=None
        Predict with an average of the weights along the training path:
        ``"swa"`` (stochastic weight averaging, Izmailov et al. 2018) the
        mean of the weights at the end of each epoch from
        ``averaging_start`` on, ``"ema"`` their exponential moving average
        over every optimizer step from then on. The averaged weights are
        what ``predict`` uses and what early stopping scores and restores;
        batch-norm statistics are recomputed over the training rows for
        them. Stochastic solvers only (``"lbfgs"`` and ``partial_fit``
        raise ``ValueError``; ``solver="auto"`` picks ``"adam"``).

    averaging_start : int or float, default=0.75
        The epoch whose end starts the average: an int counts epochs, a
        float in (0, 1) is a share of ``max_iter_`` (rounded up); at least
        the first epoch. With early stopping a fit may end before it.

    averaging_decay : float, default=0.999
        The decay of ``weight_averaging="ema"``: after each step the average
        becomes ``decay * average + (1 - decay) * weights``.

    beta_1 : float, default=0.9
        Exponential decay of the first-moment estimates (Adam).

    beta_2 : float, default=0.999
        Exponential decay of the second-moment estimates (Adam, RMSprop).

    epsilon : float, default=1e-8
        Numerical stability term of the adaptive optimizers.

    n_iter_no_change : int, "auto" or inf, default=DEFAULT
        Epochs without improvement tolerated before stopping. The patience
        matters because a validation curve can rise and fall again.
        ``"auto"`` is the epochs of [[auto_patience_steps]] optimizer steps,
        at least 10, so that a fit of a few batches an epoch cannot stop after
        a handful of updates; ``np.inf`` never stops early. The resolved value
        is recorded in ``n_iter_no_change_``.

    max_fun : int, default=15000
        Maximum number of loss evaluations of ``"lbfgs"``.

    clip_grad_norm : float or None, default=None
        Clip the global gradient norm to this value before each step.

    device : {"cpu", "auto", "cuda", "cuda:N", "mps"}, default="cpu"
        Where to train and predict. ``"auto"`` picks CUDA, then MPS, then the
        CPU. A model fitted on a GPU pickles with CPU weights and predicts on
        a machine without one. ``"cuda"`` is torch's current GPU in the main
        process; inside parallel workers (``GridSearchCV(n_jobs=k)``,
        ``cross_validate``, Dask) it spreads the fits round-robin over the
        visible GPUs by worker. ``"cuda:N"`` pins every fit to GPU N, and
        ``CUDA_VISIBLE_DEVICES`` chooses which GPUs a process sees.

    n_threads : int, "auto" or None, default="auto"
        Torch threads used by ``fit`` and ``predict``. ``"auto"`` trains on
        one thread when a training step is smaller than 5 million
        floating-point operations (counted once per fit from one row's
        forward pass; a 20-100-2 MLP in batches of 200 is 2.6 million, a
        64-100-10 one 8.9 million), where
        threads cost more to synchronize than they save, and keeps torch's
        default (one per core) otherwise; it uses one thread inside worker
        threads (joblib's threading backend, Dask), where more would
        oversubscribe the cores. ``None`` is the same without the step-size
        rule. On a machine other programs keep busy, ``n_threads=1`` is
        often much faster at every size: torch's threads wait on each other
        when the cores are taken (``benchmarks/bench_threads.py``).

    precision : {None, "bf16", "fp16"}, default=None
        Mixed-precision training (``torch.autocast``): the network's forward
        pass runs in bfloat16 or float16, the weights, the optimizer and the
        loss stay float32 (also for float64 ``X``), and ``"fp16"`` scales
        the loss so small gradients do not underflow. Meant for GPUs (bf16
        on Ampere or newer, fp16 on older ones); on the CPU it runs, but is
        slower than float32 on CPUs without bfloat16 units (the LSTM layers
        stay float32 there). Predictions run in float32. Stochastic solvers
        only; refused on MPS.

    deterministic : bool, default=False
        Torch's deterministic algorithms (``torch.use_deterministic_algorithms``,
        cuDNN's deterministic mode, ``CUBLAS_WORKSPACE_CONFIG=:4096:8`` when
        unset) during ``fit`` and ``predict``, so seeded GPU fits repeat
        bitwise. On the CPU the kernels are deterministic already and
        nothing changes. An operation with no deterministic GPU kernel
        raises ``RuntimeError``. The switch is process-wide while a fit runs."""

ENGINE_ATTRIBUTES = """\
loss_ : float
        The loss of the last epoch (including the penalty).

    best_loss_ : float or None
        Lowest training loss seen; ``None`` when early stopping is on.

    loss_curve_ : list of float
        Loss of each epoch (stochastic solvers only).

    validation_scores_ : list of float or None
        Validation score of each epoch when ``early_stopping=True``: what
        ``scoring`` names, higher is better (the negative validation loss
        for ``"loss"``).

    validation_loss_curve_ : list of float or None
        Validation loss of each epoch when ``early_stopping=True``: the data
        loss (no penalty) on the validation rows, in ``loss_curve_``'s units.

    best_validation_score_ : float or None
        Best validation score when ``early_stopping=True``.

    n_iter_ : int
        Number of epochs run (iterations for ``"lbfgs"``).

    solver_ : str
        The solver of the last fit, ``"auto"`` resolved.

    max_iter_ : int
        The ``max_iter`` of the last fit, ``"auto"`` resolved.

    batch_size_ : int
        The mini-batch size of the last fit, ``"auto"`` resolved (stochastic
        solvers only).

    n_iter_no_change_ : int or float
        The patience of the last fit, ``"auto"`` resolved (stochastic solvers
        only).

    t_ : int
        Number of training samples seen by the solver.

    n_features_in_ : int
        Number of features seen during ``fit``.

    feature_names_in_ : ndarray of shape (n_features_in_,)
        Names of the features, when ``X`` had string column names.

    module_ : torch.nn.Module
        The fitted network.

    device_ : str
        Device the model was fitted on.

    gradient_norms_ : list of list of float
        For each epoch, the gradient norm of each weight layer (input side
        first) at the epoch's last batch: the "learning speed" of each layer,
        for spotting vanishing or exploding gradients."""


REGULARIZATION_PARAMETERS = """\
mc_dropout : int, default=0
        Number of Monte-Carlo dropout passes averaged by every prediction
        method (``predict``, ``predict_proba``, ``predict_log_proba``, the
        MDN's mixture methods; dropout as an ensemble, seed 003); 0 predicts
        with dropout off. Every dropout layer is on in these passes (spatial
        dropout included); normalization layers keep their running
        statistics. Passes are seeded by ``random_state``. A model without
        dropout raises ``ValueError`` when asked for passes.

    alpha_l1 : float, default=0.0
        L1 penalty ``alpha_l1 * sum|w|`` on the weights (sparsity).

    alpha_lp : float, default=0.0
        l_p penalty ``alpha_lp * sum |w|^p`` with ``p = lp_exponent < 1``,
        sparser than L1 (seed 002).

    lp_exponent : float, default=0.5
        The exponent ``p`` of the l_p penalty, in (0, 1).

    layer_alphas : list of float or None, default=None
        One L2 strength per weight layer, ``0.5 * sum_l alpha_l ||W_l||^2``,
        added to ``alpha``: the "consistent" weight decay of Bishop 5.5.1,
        which survives linear rescaling of inputs and outputs.

    soft_sharing : float, default=0.0
        Strength of soft weight sharing: a Gaussian-mixture prior on the
        weights with learnable mixing coefficients, means and variances,
        ``-sum_i ln sum_j pi_j N(w_i | mu_j, sigma_j^2)`` (seed 000).

    soft_sharing_components : int, default=3
        Number of mixture components of the soft-weight-sharing prior.

    jacobian_penalty : float, default=0.0
        Tikhonov penalty ``0.5 * E ||d y / d x||^2`` on the raw outputs'
        input gradient (seed 000).

    input_noise : float, default=0.0
        Standard deviation of Gaussian noise added to the inputs of each
        training batch.

    weight_noise : float, default=0.0
        Standard deviation of Gaussian noise added to the weights for each
        training step's forward and backward pass.

    dropconnect : float, default=0.0
        Probability of dropping each weight in a training step (DropConnect,
        inverted scaling); off at prediction.

    adversarial : float, default=0.0
        Weight of the FGSM adversarial loss: the loss becomes
        ``(1 - adversarial) * J(x) + adversarial * J(x + eps * sign(grad_x J))``.

    adversarial_eps : float, default=0.1
        Size ``eps`` of the FGSM perturbation, in input units.

    penalty_start_epoch : int, default=0
        Epoch from which the weight penalties (``alpha``, AdamW's decoupled
        decay, and the penalties above) apply: "incremental penalizing"
        (seed 002). Stochastic solvers only: ``"lbfgs"`` has no epochs."""


CLASS_WEIGHT_PARAMETER = """\
class_weight : dict, list of dict, "balanced" or None, default=None
        Weights of the classes, ``{label: weight}`` (one dict per label for
        multilabel ``y``), or ``"balanced"`` for ``n_samples / (n_classes *
        np.bincount(y))``: each training row's weight is its class's, times
        its ``sample_weight`` (sklearn's ``compute_sample_weight``). The
        internal validation split inherits them; ``sample_weight_val`` is
        used as given. ``partial_fit`` takes dicts only."""


CATEGORICAL_PARAMETERS = """\
categorical_features : "from_dtype", array-like of bool, int or str, or None, default="from_dtype"
        The categorical columns, as in ``HistGradientBoostingClassifier``: a
        boolean mask, column indices, or column names. ``"from_dtype"`` takes
        a DataFrame's (pandas, polars) ``category``/``Enum`` columns and its
        string and object columns; ``None`` treats every column as numeric.
        Each categorical column is read through a learned embedding,
        concatenated to the numeric columns before the first layer (so
        ``coefs_[0]`` has one row per numeric column, then one per embedding
        coordinate). Categories are learned in the first ``fit`` as by
        ``OrdinalEncoder``; a missing value (NaN, None) is a category of its
        own. A category not seen in ``fit`` (or a missing value in a column
        that had none) is read as the average category, the
        training-frequency-weighted mean of the column's embeddings, with a
        ``UserWarning`` naming the column.

    embedding_dim : int, dict or "auto", default="auto"
        Width of each categorical column's embedding: one int for all, or
        ``{column: width}`` by name (index without names), ``"auto"`` for
        the others. ``"auto"`` is fastai's rule ``round(1.6 * n ** 0.56)``
        capped at 50, ``n`` the column's categories plus one for the missing
        value. The widths used are in ``embedding_dims_``."""


CATEGORICAL_ATTRIBUTES = """\
is_categorical_ : ndarray of bool of shape (n_features_in_,) or None
        Which columns were read as categorical (``None``: none).

    embedding_dims_ : list of int
        The embedding width of each categorical column, in column order."""


def _class_values(cls):
    """The ``[[name]]`` values of ``cls``: its defaults and its "auto" rules."""
    defaults = {name: repr(p.default) for name, p in inspect.signature(cls.__init__).parameters.items()
                if p.default is not inspect.Parameter.empty}
    steps = getattr(cls, "_AUTO_STEPS", None)
    return {**{name: value.replace("'", '"') for name, value in defaults.items()},
            "auto_batch_size": getattr(cls, "_AUTO_BATCH_DOC", "``min(200, n_samples)``"),
            "auto_steps": f"{steps:,}" if steps else "",
            "auto_min_epochs": str(getattr(cls, "_AUTO_MIN_EPOCHS", "")),
            "auto_max_epochs": f"{getattr(cls, '_AUTO_MAX_EPOCHS', 0):,}",
            "auto_lbfgs_iter": str(getattr(cls, "_AUTO_LBFGS_ITER", "")),
            "auto_patience_steps": f"{getattr(cls, '_AUTO_PATIENCE_STEPS', 0):,}"}


def _with_defaults(text, defaults):
    """``text`` with each ``name : ..., default=X`` line showing ``cls``'s own default."""
    def default(match):
        name = match.group(2)
        return match.group(1) + defaults.get(name, match.group(3))
    return re.sub(r"^(\s*(\w+) : .*, default=)(.*)$", default, text, flags=re.MULTILINE)


def fill_doc(cls):
    """Substitute the shared engine sections into ``cls.__doc__``, with ``cls``'s defaults."""
    values = _class_values(cls)
    for key, text in (("{engine_parameters}", _with_defaults(ENGINE_PARAMETERS, values)),
                      ("{engine_attributes}", ENGINE_ATTRIBUTES),
                      ("{regularization_parameters}", REGULARIZATION_PARAMETERS),
                      ("{class_weight_parameter}", CLASS_WEIGHT_PARAMETER),
                      ("{categorical_parameters}", CATEGORICAL_PARAMETERS),
                      ("{categorical_attributes}", CATEGORICAL_ATTRIBUTES)):
        cls.__doc__ = cls.__doc__.replace(key, text)
    for name, value in values.items():
        cls.__doc__ = cls.__doc__.replace(f"[[{name}]]", value)
    return cls
