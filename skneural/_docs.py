"""Parameter descriptions shared by every estimator's docstring.

Each estimator's docstring names ``{engine_parameters}`` where these belong;
``fill_doc`` substitutes them, so one engine parameter is documented once.
"""

ENGINE_PARAMETERS = """\
solver : {"adam", "sgd", "adamw", "adagrad", "rmsprop", "adadelta", "lbfgs"}, default="adam"
        The optimizer. ``"sgd"`` uses ``momentum`` and ``nesterovs_momentum``;
        ``"adam"``/``"adamw"`` use ``beta_1``, ``beta_2``, ``epsilon``;
        ``"rmsprop"`` uses ``beta_2`` as its smoothing constant;
        ``"lbfgs"`` is full-batch L-BFGS-B from scipy, as in sklearn, and
        respects ``max_iter``, ``max_fun`` and ``tol``.

    alpha : float, default=0.0001
        Strength of the L2 penalty, with sklearn's meaning: the loss gains
        ``0.5 * alpha * ||W||^2 / batch_weight`` where ``W`` are the weight
        matrices (biases and normalization parameters are not penalized), so
        grid ranges carry over from sklearn. With ``solver="adamw"`` it is
        AdamW's decoupled weight decay instead.

    batch_size : int or "auto", default="auto"
        Mini-batch size; ``"auto"`` is ``min(200, n_samples)``.

    learning_rate : {"constant", "invscaling", "adaptive", "cosine"}, default="constant"
        Step-size schedule. ``"invscaling"`` and ``"adaptive"`` apply to
        ``solver="sgd"`` as in sklearn. ``"cosine"`` applies to every
        stochastic solver: the step size falls from ``learning_rate_init`` to
        0 along a half cosine over the ``max_iter`` epochs of each ``fit``
        (over the epochs of all ``partial_fit`` calls).

    learning_rate_init : float, default=0.001
        Initial step size of the stochastic solvers.

    power_t : float, default=0.5
        Exponent of the ``"invscaling"`` schedule.

    max_iter : int, default=200
        Maximum number of epochs (iterations for ``"lbfgs"``).

    shuffle : bool, default=True
        Whether to reshuffle the rows every epoch.

    random_state : int, RandomState instance or None, default=None
        Seeds weight initialisation, shuffling, dropout and the validation
        split. An int gives bitwise-identical fits on the CPU.

    tol : float, default=1e-4
        Improvement of the loss (or validation score) below which an epoch
        counts as no improvement.

    verbose : bool, default=False
        Show a progress bar (tqdm, if installed) with loss and validation score.

    warm_start : bool, default=False
        Reuse the fitted weights as the starting point of the next ``fit``.
        As in sklearn, ``fit`` then starts a fresh optimizer (its moments and
        step-size schedule are reset) and a fresh history; ``partial_fit``
        keeps the optimizer state.

    momentum : float, default=0.9
        Momentum of ``"sgd"``.

    nesterovs_momentum : bool, default=True
        Use Nesterov's momentum with ``"sgd"``.

    early_stopping : bool, default=False
        Hold out ``validation_fraction`` of the data (stratified for
        classifiers), stop when the validation score has not improved by
        ``tol`` for ``n_iter_no_change`` epochs, and restore the weights of
        the best epoch.

    validation_fraction : float, default=0.1
        Share of the training data held out for early stopping.

    beta_1 : float, default=0.9
        Exponential decay of the first-moment estimates (Adam).

    beta_2 : float, default=0.999
        Exponential decay of the second-moment estimates (Adam, RMSprop).

    epsilon : float, default=1e-8
        Numerical stability term of the adaptive optimizers.

    n_iter_no_change : int, default=10
        Epochs without improvement tolerated before stopping. The patience
        matters because a validation curve can rise and fall again.

    max_fun : int, default=15000
        Maximum number of loss evaluations of ``"lbfgs"``.

    clip_grad_norm : float or None, default=None
        Clip the global gradient norm to this value before each step.

    device : {"cpu", "auto", "cuda", "cuda:N", "mps"}, default="cpu"
        Where to train and predict. ``"auto"`` picks CUDA, then MPS, then the
        CPU. A model fitted on a GPU pickles with CPU weights and predicts on
        a machine without one.

    n_threads : int or None, default=None
        Torch threads used by ``fit`` and ``predict``. ``None`` keeps torch's
        default in the main thread and uses one thread inside worker threads
        (joblib's threading backend, Dask), where more would oversubscribe
        the cores."""

ENGINE_ATTRIBUTES = """\
loss_ : float
        The loss of the last epoch (including the penalty).

    best_loss_ : float or None
        Lowest training loss seen; ``None`` when early stopping is on.

    loss_curve_ : list of float
        Loss of each epoch (stochastic solvers only).

    validation_scores_ : list of float or None
        Validation score of each epoch when ``early_stopping=True``.

    best_validation_score_ : float or None
        Best validation score when ``early_stopping=True``.

    n_iter_ : int
        Number of epochs run (iterations for ``"lbfgs"``).

    t_ : int
        Number of training samples seen by the solver.

    n_features_in_ : int
        Number of features seen during ``fit``.

    feature_names_in_ : ndarray of shape (n_features_in_,)
        Names of the features, when ``X`` had string column names.

    module_ : torch.nn.Module
        The fitted network.

    device_ : str
        Device the model was fitted on."""


def fill_doc(cls):
    """Substitute the shared engine sections into ``cls.__doc__``."""
    cls.__doc__ = cls.__doc__.replace("{engine_parameters}", ENGINE_PARAMETERS).replace(
        "{engine_attributes}", ENGINE_ATTRIBUTES
    )
    return cls
