"""The training loop shared by every estimator.

One loop, written out: epoch -> mini-batches drawn by index from tensors that
already sit on the device -> zero_grad, forward, loss, backward, clip, step.
Bookkeeping (``loss_curve_``, early stopping, ``n_iter_``, ``t_``) follows
sklearn's ``BaseMultilayerPerceptron._fit_stochastic`` line for line, so the
fitted attributes mean what sklearn users expect.

The estimator supplies three things: its ``module_``, a ``_data_loss(raw,
target, weight)`` and a ``_validation_step(module, val)`` returning the
validation loss and a higher-is-better score (the negative loss, accuracy,
R^2, log-likelihood or any scorer's value).
"""

import math
import warnings

import numpy as np
import scipy.optimize
import torch
from sklearn.exceptions import ConvergenceWarning

from .averaging import WeightAverage
from .compat import foreach_add_, foreach_norm
from .device import MixedPrecision, auto_threads, forward_flops
from .networks import has_batch_norm
from .optimizers import _FastAdam, make_optimizer, set_decoupled_decay
from .progress import Progress
from .regularizers import Regularizer, decayed_parameters, squared_norm
from .validation import _check_optimize_result


def resolve_batch_size(est, n_samples):
    """The mini-batch size of a fit: ``est.batch_size``, or the estimator's "auto" rule."""
    batch_size = est.batch_size
    if batch_size == "auto":
        return int(np.clip(est._auto_batch_size(n_samples), min(2, n_samples), n_samples))
    if batch_size > n_samples:
        warnings.warn(
            f"Got batch_size={batch_size} larger than the {n_samples} training "
            "samples; it is clipped to the number of samples."
        )
    return int(np.clip(batch_size, 1, n_samples))


def epochs_for_steps(steps, steps_per_epoch, min_epochs=1, max_epochs=None):
    """The epochs that add up to about ``steps`` optimizer steps, within the bounds.

    Counting a training budget in steps rather than epochs gives a data set
    of one batch per epoch as many updates as a data set of a hundred.
    """
    epochs = max(min_epochs, math.ceil(steps / max(1, steps_per_epoch)))
    return epochs if max_epochs is None else min(epochs, max_epochs)


def resolve_budget(est, n_batches):
    """Set ``max_iter_`` and ``n_iter_no_change_``, resolving their ``"auto"`` values.

    ``max_iter="auto"``: the epochs of ``est._AUTO_STEPS`` optimizer steps at
    ``n_batches`` steps an epoch, bounded by ``_AUTO_MIN_EPOCHS`` and
    ``_AUTO_MAX_EPOCHS``. ``n_iter_no_change="auto"``: the epochs of
    ``est._AUTO_PATIENCE_STEPS`` steps, at least 10, so a fit of a few batches
    an epoch cannot stop after a handful of updates.
    """
    est.max_iter_ = (epochs_for_steps(est._AUTO_STEPS, n_batches, est._AUTO_MIN_EPOCHS,
                                      est._AUTO_MAX_EPOCHS)
                     if est.max_iter == "auto" else est.max_iter)
    est.n_iter_no_change_ = (epochs_for_steps(est._AUTO_PATIENCE_STEPS, n_batches, 10)
                             if est.n_iter_no_change == "auto" else est.n_iter_no_change)


def batch_bounds(n_samples, batch_size, merge_single=False):
    """``(start, stop)`` of each mini-batch, as sklearn's ``gen_batches``.

    With ``merge_single`` (networks with batch norm, whose statistics need two
    rows) a last batch of one row joins the batch before it, so no fit fails
    because of how its rows fall into batches.
    """
    bounds = [(start, min(start + batch_size, n_samples)) for start in range(0, n_samples, batch_size)]
    if merge_single and len(bounds) > 1 and bounds[-1][1] - bounds[-1][0] == 1:
        bounds[-2:] = [(bounds[-2][0], n_samples)]
    return bounds


def check_batch_norm_batches(est, n_samples, batch_size):
    """Refuse batch-norm fits whose batch statistics would come from a single row."""
    if n_samples < 2:
        raise ValueError(
            f"{type(est).__name__} has batch normalization, whose training statistics need "
            f"at least 2 rows per mini-batch, but got {n_samples} sample (n_samples = 1). "
            "Pass more rows or use normalization='layer'."
        )
    if batch_size < 2:
        raise ValueError(
            f"batch_size={est.batch_size} with batch normalization: every mini-batch of one "
            "row normalizes to a constant. Use batch_size >= 2 or normalization='layer'."
        )


def _snapshot(module):
    return {k: v.detach().clone() for k, v in module.state_dict().items()}


def _all_finite(module):
    """Whether every floating-point parameter and buffer is finite (one reduction)."""
    tensors = [t for t in module.state_dict().values() if t.is_floating_point()]
    return bool(torch.isfinite(torch.stack(foreach_norm(tensors))).all())


def _restore_finite(est, module, snapshots, train, n_check=1024):
    """Load the newest snapshot whose loss on the first training rows is finite.

    The weights at the start of the failing epoch were produced by a step
    whose result was never evaluated, so they are checked before being
    trusted; the epoch before's weights are the fallback.
    """
    inputs, target, weight = train
    rows = slice(0, min(n_check, target.shape[0]))
    for state in snapshots:
        if state is None:
            continue
        module.load_state_dict(state)
        module.eval()
        with torch.no_grad():
            w = None if weight is None else weight[rows]
            loss = Regularizer(est, module).loss(_take(inputs, rows), target[rows], w,
                                                 epoch=est.n_iter_, with_l2=True)
        if torch.isfinite(loss):
            return


def _gradient_norms(module):
    """Gradient norm of each weight tensor (layer), input side first, as floats."""
    grads = [p.grad for p in decayed_parameters(module) if p.grad is not None]
    if not grads:
        return []
    return torch.stack(foreach_norm(grads)).tolist()


def parameters_to_vector(tensors):
    """The tensors flattened into one vector, whatever their strides (channels-last kernels)."""
    return torch.cat([t.reshape(-1) for t in tensors])


def vector_to_parameters(vector, params):
    """Copy consecutive slices of ``vector`` into ``params`` (any strides), in place."""
    start = 0
    with torch.no_grad():
        for p in params:
            p.copy_(vector[start:start + p.numel()].view(p.shape))
            start += p.numel()


def _step_flops(module, inputs, rows, batch_size):
    """Floating-point operations of one training step: forward and backward (about
    three forward passes) of ``batch_size`` rows, from one row's forward pass."""
    first = slice(0, 1) if rows is None else rows[:1]
    return 3 * batch_size * forward_flops(module, *_take(inputs, first))


def _take(tensors, idx):
    return tuple(t[idx] for t in tensors)


def _update_no_improvement(est, module, early_stopping, val_score, val_loss=None):
    """sklearn's ``_update_no_improvement_count``, keeping a copy of the best weights."""
    if early_stopping:
        est.validation_loss_curve_.append(val_loss)
        est.validation_scores_.append(val_score)
        if val_score < est.best_validation_score_ + est.tol:
            est._no_improvement_count += 1
        else:
            est._no_improvement_count = 0
        if val_score > est.best_validation_score_:
            est.best_validation_score_ = val_score
            est._best_state = _snapshot(module)
    else:
        if est.loss_curve_[-1] > est.best_loss_ - est.tol:
            est._no_improvement_count += 1
        else:
            est._no_improvement_count = 0
        if est.loss_curve_[-1] < est.best_loss_:
            est.best_loss_ = est.loss_curve_[-1]


def _schedule(est, optimizer, epochs_done):
    """Per-epoch step size: sklearn's ``invscaling`` (sgd only) or ``cosine`` (any solver).

    ``cosine`` anneals from ``learning_rate_init`` to 0 over ``max_iter_`` epochs
    (Loshchilov & Hutter 2017, without restarts); ``epochs_done`` counts the
    epochs of this ``fit`` (of all ``partial_fit`` calls), so each ``fit``
    starts a new cycle with its fresh optimizer.
    """
    if est.learning_rate == "cosine":
        progress = min(epochs_done, est.max_iter_) / est.max_iter_
        lr = est.learning_rate_init * 0.5 * (1.0 + math.cos(math.pi * progress))
    elif est.solver_ == "sgd" and est.learning_rate == "invscaling":
        lr = est.learning_rate_init / (est.t_ + 1) ** est.power_t
    else:
        return
    for group in optimizer.param_groups:
        group["lr"] = lr


def _trigger_stopping(est, optimizer):
    """Stop, or for sgd's ``adaptive`` schedule divide the step size by 5 first."""
    if est.solver_ == "sgd" and est.learning_rate == "adaptive":
        lr = optimizer.param_groups[0]["lr"]
        if lr > 1e-6:
            for group in optimizer.param_groups:
                group["lr"] = lr / 5.0
            if est.verbose:
                print(f"Setting learning rate to {lr / 5.0:f}")
            return False
    return True


def train_stochastic(est, train, val=None, incremental=False, rows=None):
    """Run mini-batch epochs on ``est.module_``.

    Parameters
    ----------
    est : BaseNeuralEstimator
        Holds the hyper-parameters, ``module_`` and the fitted attributes,
        which are updated in place.
    train : tuple (inputs, target, weight)
        ``inputs`` is a tuple of tensors indexed along their first axis;
        ``weight`` may be ``None``.
    val : ValidationSet or None
        Validation data (``base.ValidationSet``); its presence switches early
        stopping on.
    incremental : bool
        One epoch with the existing optimizer (``partial_fit``).
    rows : LongTensor or None
        The rows of ``train`` to train on (the rest is the validation set);
        ``None`` uses them all.
    """
    module = est.module_
    inputs, target, weight = train
    if not incremental or getattr(est, "_optimizer", None) is None:
        est._optimizer = make_optimizer(est, module)
        est._grad_scaler = None
    optimizer = est._optimizer
    device = target.device
    amp = MixedPrecision(getattr(est, "precision", None), device,
                         getattr(est, "_grad_scaler", None))
    est._grad_scaler = amp.scaler
    early_stopping = val is not None
    n_samples = target.shape[0] if rows is None else rows.shape[0]
    batch_size = est.batch_size_ = resolve_batch_size(est, n_samples)
    auto_threads(getattr(est, "n_threads", None),
                 lambda: _step_flops(module, inputs, rows, batch_size), device)
    batch_norm = has_batch_norm(module)
    if batch_norm:
        check_batch_norm_batches(est, n_samples, batch_size)
    bounds = batch_bounds(n_samples, batch_size, merge_single=batch_norm)
    resolve_budget(est, len(bounds))
    clip = getattr(est, "clip_grad_norm", None)
    first_iter = 0 if incremental else est.n_iter_
    max_iter = 1 if incremental else est.max_iter_
    progress = Progress(est.verbose and not incremental, max_iter, type(est).__name__)
    last_good = None
    # sklearn's L2 gradient alpha / batch_weight * W, added to the weights' gradients
    l2 = est.alpha if est.solver_ != "adamw" else 0.0
    decayed = decayed_parameters(module) if l2 else []
    # each batch's mean loss enters the epoch's mean with its rows' count (or total weight)
    row_counts = torch.tensor([stop - start for start, stop in bounds], dtype=torch.float64,
                              device=device)
    regularizer = Regularizer(est, module)
    # a model may offer an exact hand-written gradient (plain MLPs); regularizers and
    # mixed precision need autograd
    manual = None if regularizer.active or amp.enabled else est._manual_step()
    fast = None  # the direct Adam kernel, once the optimizer has its state
    use_fast = manual is not None
    if getattr(est, "gradient_norms_", None) is None:
        est.gradient_norms_ = []
    average = WeightAverage.create(est, train, rows, batch_size)

    try:
        for _ in range(max_iter):
            module.train()
            order = torch.randperm(n_samples, device=device) if est.shuffle else None
            previous_good, last_good = last_good, _snapshot(module)
            losses, batch_totals = [], []
            epoch = est.n_iter_
            penalties_on = regularizer.penalties_on(epoch)
            l2_now = l2 if penalties_on else 0.0
            if est.solver_ == "adamw":  # incremental penalizing delays the decoupled decay too
                set_decoupled_decay(optimizer, module, est.alpha if penalties_on else 0.0)
            sq_start = squared_norm(decayed) if decayed else None
            for start, stop in bounds:
                idx = order[start:stop] if order is not None else slice(start, stop)
                if rows is not None:
                    idx = rows[idx]
                batch_weight = None if weight is None else weight[idx]
                if batch_weight is None:
                    norm = stop - start
                else:
                    total = batch_weight.sum()
                    batch_totals.append(total)
                    norm = float(total)
                decay = l2_now / norm if decayed and norm > 0 else 0.0
                if manual is not None:  # folds the L2 gradient into its own matmuls
                    loss = manual(_take(inputs, idx), target[idx], batch_weight, decay)
                else:
                    optimizer.zero_grad(set_to_none=True)
                    regularizer.perturb_weights()
                    with amp.autocast():
                        loss = regularizer.loss(_take(inputs, idx), target[idx], batch_weight,
                                                epoch)
                    amp.backward(loss, optimizer)  # true (unscaled) gradients from here on
                    regularizer.restore_weights()
                    if decay:
                        foreach_add_([p.grad for p in decayed], decayed, alpha=decay)
                if clip is not None:
                    torch.nn.utils.clip_grad_norm_(module.parameters(), clip)
                if stop == n_samples:  # the seeds' "learning speed" of each layer, once an epoch
                    est.gradient_norms_.append(_gradient_norms(module))
                if fast is not None:
                    try:
                        fast.step()
                    except (TypeError, RuntimeError):  # never again this fit: torch.optim
                        fast, use_fast = None, False
                if fast is None:
                    amp.step(optimizer)
                    if use_fast:
                        fast = _FastAdam.create(optimizer)
                if average is not None:
                    average.after_step(module)
                losses.append(loss.detach())
            totals = row_counts if weight is None else torch.stack(batch_totals).to(torch.float64)
            grand_total = float(totals.sum())
            epoch_loss = float(torch.stack(losses).to(torch.float64) @ totals) / grand_total
            if decayed:
                # sklearn adds 0.5 * alpha * ||W||^2 / batch_weight to every batch's loss,
                # which the weighting above turns into 0.5 * alpha * ||W||^2 per batch;
                # ||W||^2 is taken as the mean of the epoch's first and last weights,
                # which differ from the per-batch values by one epoch's drift at most.
                sq = 0.5 * float(sq_start + squared_norm(decayed))
                epoch_loss += 0.5 * l2_now * sq * len(bounds) / grand_total

            if not np.isfinite(epoch_loss) or not _all_finite(module):
                _restore_finite(est, module, [last_good, previous_good], train)
                est._optimizer = None
                warnings.warn(
                    f"{type(est).__name__}: the training loss became non-finite in "
                    f"epoch {est.n_iter_ + 1}; training stopped and the weights from "
                    "the end of the previous epoch were restored. Lower "
                    "learning_rate_init, scale the inputs, or clip gradients.",
                    ConvergenceWarning,
                )
                break

            est.n_iter_ += 1
            est.loss_ = epoch_loss
            est.t_ += n_samples
            est.loss_curve_.append(epoch_loss)

            # early stopping compares (and keeps) the averaged weights once there are any
            scored = module
            if average is not None:
                average.after_epoch(module, est.n_iter_)
                if average.started and early_stopping:
                    scored = average.network()
            val_score = val_loss = None
            if early_stopping:
                val_loss, val_score = est._validation_step(scored, val)
            _update_no_improvement(est, scored, early_stopping, val_score, val_loss)
            progress.update(est.n_iter_, loss=epoch_loss, val_score=val_score)
            _schedule(est, optimizer, est.n_iter_ - first_iter)

            if est._no_improvement_count > est.n_iter_no_change_:
                if _trigger_stopping(est, optimizer):
                    if est.verbose:
                        what = "Validation score" if early_stopping else "Training loss"
                        print(f"{what} did not improve more than tol={est.tol:f} for "
                              f"{est.n_iter_no_change_} consecutive epochs. Stopping.")
                    break
                est._no_improvement_count = 0

            # a cosine schedule ends at a step size of 0: the fit is complete, not cut short
            if (not incremental and est.n_iter_ == est.max_iter_
                    and est.learning_rate != "cosine"):
                warnings.warn(
                    f"Stochastic Optimizer: Maximum iterations ({est.max_iter_}) "
                    "reached and the optimization hasn't converged yet.",
                    ConvergenceWarning,
                )
    except KeyboardInterrupt:
        warnings.warn(
            f"{type(est).__name__}: training interrupted by user after "
            f"{est.n_iter_} epochs; the estimator keeps the "
            f"{'best' if early_stopping else 'latest'} weights.",
            UserWarning,
        )
    finally:
        progress.close()

    if early_stopping and getattr(est, "_best_state", None) is not None:
        module.load_state_dict(est._best_state)
    elif average is not None and average.started:
        module.load_state_dict(average.network().state_dict())
    est._best_state = None
    module.eval()


def train_lbfgs(est, train):
    """Full-batch L-BFGS-B through scipy, as sklearn's ``solver="lbfgs"``.

    ``max_iter`` (``"auto"``: ``est._AUTO_LBFGS_ITER`` iterations, recorded in
    ``max_iter_``), ``max_fun`` and ``tol`` (as ``gtol``) keep their sklearn
    meaning. The objective is evaluated by torch; scipy only sees a float64
    vector and its gradient.
    """
    module = est.module_
    inputs, target, weight = train
    params = [p for p in module.parameters() if p.requires_grad]
    auto_threads(getattr(est, "n_threads", None),
                 lambda: _step_flops(module, inputs, None, target.shape[0]), target.device)
    module.train()
    est.max_iter_ = est._AUTO_LBFGS_ITER if est.max_iter == "auto" else est.max_iter

    best = {"theta": None, "loss": np.inf}
    regularizer = Regularizer(est, module)
    # the line search visits points it rejects: batch norm's running statistics are
    # set once, at the accepted weights, below
    regularizer.freeze_statistics = True

    def objective(theta):
        with torch.no_grad():
            vector_to_parameters(torch.as_tensor(theta, dtype=params[0].dtype,
                                                 device=params[0].device), params)
        module.zero_grad(set_to_none=False)
        loss = regularizer.loss(inputs, target, weight, epoch=0, with_l2=True)
        loss.backward()
        grad = parameters_to_vector([p.grad for p in params])
        value = float(loss.detach())
        if value < best["loss"]:  # kept so an interrupted fit loses nothing
            best["theta"], best["loss"] = np.array(theta), value
        return value, grad.detach().cpu().numpy().astype(np.float64)

    theta0 = parameters_to_vector(params).detach().cpu().numpy().astype(np.float64)
    iterations = [0]

    def report(theta):  # verbose: sklearn's "Iteration k, loss = ..." once an iteration
        iterations[0] += 1
        print(f"Iteration {iterations[0]}, loss = {best['loss']:.8f}")

    try:
        result = scipy.optimize.minimize(
            objective, theta0, method="L-BFGS-B", jac=True,
            callback=report if est.verbose else None,
            options={"maxfun": est.max_fun, "maxiter": est.max_iter_, "gtol": est.tol},
        )
        theta, loss = result.x, result.fun
        est.n_iter_ = _check_optimize_result("lbfgs", result, est.max_iter_)
    except KeyboardInterrupt:
        warnings.warn(f"{type(est).__name__}: training interrupted by user.", UserWarning)
        theta, loss = (best["theta"], best["loss"]) if best["theta"] is not None else (theta0, np.nan)
        est.n_iter_ = max(getattr(est, "n_iter_", 0), 1)
    if not np.all(np.isfinite(theta)) or not np.isfinite(loss):
        theta = theta0
        warnings.warn(
            f"{type(est).__name__}: L-BFGS produced non-finite weights; the "
            "starting weights were kept. Scale the inputs.",
            ConvergenceWarning,
        )
    with torch.no_grad():
        vector_to_parameters(torch.as_tensor(theta, dtype=params[0].dtype,
                                             device=params[0].device), params)
        _full_batch_statistics(regularizer, inputs, weight)
    est.loss_ = float(loss)
    est.t_ += target.shape[0]
    module.eval()


def _full_batch_statistics(regularizer, inputs, weight):
    """Set batch norm's running statistics to those of the full batch at the final weights.

    L-BFGS trains on the full batch, so its objective normalizes with the full
    batch's statistics; predictions then use exactly these (the variance with
    the unbiased factor, as torch's running variance).
    """
    norms = regularizer.norms
    if not norms:
        return
    momenta = [norm.momentum for norm in norms]
    for norm in norms:
        norm.reset_running_stats()
        norm.momentum = None  # cumulative average: after one batch, that batch's statistics
    try:
        regularizer.module.train()
        regularizer._steer_norms(weight, True)
        regularizer.module(*inputs)
    finally:
        regularizer._steer_norms(None, True)
        for norm, momentum in zip(norms, momenta):
            norm.momentum = momentum
