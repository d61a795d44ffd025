"""Where and how torch runs a fit: the device, its precision, the thread count, the seed."""

import contextlib
import itertools
import multiprocessing
import os
import sys
import threading

import torch

_PRECISIONS = {"bf16": torch.bfloat16, "fp16": torch.float16}
_thread_ordinals = threading.local()
_next_thread_ordinal = itertools.count()
_ordinal_lock = threading.Lock()


def worker_ordinal():
    """The ordinal of the worker running this code: 0, 1, 2, ... across parallel fits.

    A process started by a pool (joblib's loky, ``multiprocessing``) counts
    by its start order, a Dask worker by its name where that is an integer
    (``LocalCluster`` names them 0, 1, ...) times its thread count; a thread
    other than the main one adds the order in which this process's threads
    first asked. The main thread of the main process is 0.
    """
    process, threads = 0, 1
    worker = _dask_worker()
    if worker is not None and isinstance(worker.name, int):
        process, threads = worker.name, max(1, int(getattr(worker.state, "nthreads", 1)))
    else:
        identity = multiprocessing.current_process()._identity
        process = identity[-1] - 1 if identity else 0
    if threading.current_thread() is threading.main_thread():
        return process * threads
    ordinal = getattr(_thread_ordinals, "value", None)
    if ordinal is None:
        with _ordinal_lock:
            ordinal = _thread_ordinals.value = next(_next_thread_ordinal)
    if worker is not None:  # one of a Dask worker's threads
        return process * threads + ordinal % threads
    return process + ordinal


def _dask_worker():
    """The Dask worker running this code, or ``None`` (never imports ``distributed``)."""
    if "distributed" not in sys.modules:
        return None
    try:
        return sys.modules["distributed"].get_worker()
    except (ValueError, AttributeError):
        return None


def _in_worker():
    """Whether this code runs in a pool's process or in a thread other than the main one."""
    return (threading.current_thread() is not threading.main_thread()
            or bool(multiprocessing.current_process()._identity) or _dask_worker() is not None)


def resolve_device(device):
    """Turn ``"auto" | "cpu" | "cuda" | "cuda:N" | "mps"`` into a ``torch.device``.

    ``"cuda"`` (and ``"auto"`` on a CUDA machine) is torch's current device
    in the main thread of the main process, and the GPU numbered
    ``worker_ordinal() % device_count`` in a worker, so that the fits of
    ``GridSearchCV(n_jobs=k)`` or Dask spread over the visible GPUs instead
    of all landing on ``cuda:0``. ``"cuda:N"`` pins every fit to GPU N.
    """
    if device == "auto":
        if torch.cuda.is_available():
            device = "cuda"
        elif torch.backends.mps.is_available():
            return torch.device("mps")
        else:
            return torch.device("cpu")
    try:
        resolved = torch.device(device)
    except (RuntimeError, TypeError) as exc:
        raise ValueError(
            f"device={device!r} is not a device; use 'auto', 'cpu', 'cuda', 'cuda:N' or 'mps'."
        ) from exc
    if resolved.type == "cuda":
        if not torch.cuda.is_available():
            raise ValueError(f"device={device!r} was requested but CUDA is not available.")
        count = torch.cuda.device_count()
        if resolved.index is not None and resolved.index >= count:
            raise ValueError(f"device={device!r}: only {count} CUDA devices.")
        if resolved.index is None:
            index = worker_ordinal() % count if _in_worker() else torch.cuda.current_device()
            resolved = torch.device("cuda", index)
    elif resolved.type == "mps" and not torch.backends.mps.is_available():
        raise ValueError(f"device={device!r} was requested but MPS is not available.")
    elif resolved.type not in ("cpu", "cuda", "mps"):
        raise ValueError(f"device={device!r} is not supported; use 'cpu', 'cuda' or 'mps'.")
    return resolved


def available_device(device):
    """``device`` where this machine has it: a GPU model loaded on a laptop runs on the CPU.

    A CUDA index beyond this machine's GPUs (a model fitted on ``cuda:3``
    loaded where there is one GPU) falls back to the current CUDA device.
    """
    device = torch.device(device)
    if device.type == "cuda":
        if not torch.cuda.is_available():
            return torch.device("cpu")
        if device.index is not None and device.index >= torch.cuda.device_count():
            return torch.device("cuda", torch.cuda.current_device())
    if device.type == "mps" and not torch.backends.mps.is_available():
        return torch.device("cpu")
    return device


#: Below this many floating-point operations per training step (forward and
#: backward), one torch thread trains faster than several; ``n_threads="auto"``
#: then uses one (benchmarks/bench_threads.py, RESULTS: on 2 idle cores two
#: threads cost 1.04-1.25x one at 2-4 MFLOP per step, 0.96-1.07x at 10 MFLOP,
#: 0.88x at 30 MFLOP, and digits' 5-fold CV at 9 MFLOP ran 0.88x; with a core
#: taken by another process, 1.6x to 5.5x at every size measured).
AUTO_THREADS_MIN_FLOPS = 5e6


@contextlib.contextmanager
def torch_threads(n_threads):
    """Set torch's intra-op thread count for the duration of a fit or predict.

    ``None`` keeps torch's default in the main thread and uses one thread in
    any other thread: joblib's threading backend and Dask workers run fits in
    threads, and several torch loops each using every core run many times
    slower than the same loops on one core each. ``"auto"`` starts as
    ``None`` does; :func:`auto_threads` may lower the count to one once the
    size of a training step is known. The count in force before is restored.
    """
    if n_threads is None or n_threads == "auto":
        if threading.current_thread() is threading.main_thread():
            previous = torch.get_num_threads()
            try:
                yield
            finally:
                if torch.get_num_threads() != previous:
                    torch.set_num_threads(previous)
            return
        n_threads = 1
    previous = torch.get_num_threads()
    torch.set_num_threads(int(n_threads))
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def forward_flops(module, *inputs):
    """Floating-point operations of one eval-mode forward pass of ``module`` on ``inputs``.

    Counted by ``torch.utils.flop_counter.FlopCounterMode`` (matrix products
    and convolutions); eval mode and ``no_grad``, so no random number is
    drawn and no running statistic moves.
    """
    from torch.utils.flop_counter import FlopCounterMode

    was_training = module.training
    module.eval()
    try:
        with torch.no_grad(), FlopCounterMode(display=False) as counter:
            module(*inputs)
    finally:
        module.train(was_training)
    return counter.get_total_flops()


def auto_threads(n_threads, step_flops, device):
    """Under ``n_threads="auto"``, one torch thread for a fit whose steps are small.

    ``step_flops`` (a callable, only called under ``"auto"``) gives the
    floating-point operations of one training step. Inside a
    :func:`torch_threads` block; elsewhere than the main thread the count
    already is one, and a GPU's steps do not run on these threads.
    """
    if (n_threads != "auto" or device.type != "cpu"
            or threading.current_thread() is not threading.main_thread()):
        return
    if step_flops() < AUTO_THREADS_MIN_FLOPS:
        torch.set_num_threads(1)


@contextlib.contextmanager
def seeded(seed, device):
    """Seed torch's generators for one fit without disturbing the caller's RNG state."""
    devices = [device.index or 0] if device.type == "cuda" else []
    with torch.random.fork_rng(devices=devices):
        torch.manual_seed(seed)
        yield


# ------------------------------------------------------------------ precision
def check_precision(precision, device):
    """Refuse a ``precision`` this device or torch build cannot train in."""
    if precision is None:
        return
    if device.type not in ("cpu", "cuda"):
        raise ValueError(
            f"precision={precision!r} is supported on 'cuda' and 'cpu' devices, not on "
            f"{device.type!r}; use precision=None."
        )
    if precision == "fp16" and grad_scaler(precision, device) is None:
        raise ValueError(
            f"precision='fp16' on {device.type!r} needs torch.amp.GradScaler for this device, "
            f"which torch {torch.__version__} lacks; use precision='bf16' or a newer torch."
        )


def grad_scaler(precision, device):
    """The loss scaler of an ``"fp16"`` fit (fp16 gradients underflow without it), else ``None``."""
    if precision != "fp16":
        return None
    scaler_class = getattr(torch.amp, "GradScaler", None)
    if scaler_class is not None:
        try:
            return scaler_class(device.type)
        except (RuntimeError, TypeError, ValueError):
            return None
    if device.type == "cuda":
        return torch.cuda.amp.GradScaler()
    return None


def autocast_enabled(device_type):
    """Whether autocast is on for ``device_type`` here (across torch versions)."""
    try:
        return torch.is_autocast_enabled(device_type)
    except TypeError:  # torch < 2.4
        if device_type == "cpu":
            return torch.is_autocast_cpu_enabled()
        return torch.is_autocast_enabled()


def full_precision(raw, dtype):
    """Network outputs cast back to the parameters' ``dtype`` for the loss (tuples too)."""
    if isinstance(raw, tuple):
        return tuple(full_precision(r, dtype) for r in raw)
    if isinstance(raw, torch.Tensor) and raw.is_floating_point() and raw.dtype != dtype:
        return raw.to(dtype)
    return raw


class MixedPrecision:
    """Autocast and, for ``"fp16"``, loss scaling around one optimizer's steps.

    ``backward`` scales the loss and unscales the gradients again before
    anything reads them (the L2 term, clipping, the gradient norms), so the
    rest of the step sees true gradients; ``step`` skips a step whose
    gradients overflowed and adapts the scale. With ``precision=None`` every
    method is the plain call.
    """

    def __init__(self, precision, device, scaler=None):
        self.precision, self.device_type = precision, device.type
        self.scaler = scaler if scaler is not None else grad_scaler(precision, device)

    @property
    def enabled(self):
        return self.precision is not None

    def autocast(self):
        """``torch.autocast`` in the fit's precision, or nothing for ``None``."""
        if self.precision is None:
            return contextlib.nullcontext()
        return torch.autocast(self.device_type, dtype=_PRECISIONS[self.precision])

    def backward(self, loss, optimizer):
        if self.scaler is None:
            loss.backward()
            return
        self.scaler.scale(loss).backward()
        self.scaler.unscale_(optimizer)

    def step(self, optimizer):
        if self.scaler is None:
            optimizer.step()
            return
        self.scaler.step(optimizer)
        self.scaler.update()


# ------------------------------------------------------------- determinism
@contextlib.contextmanager
def deterministic_algorithms(on, device):
    """Torch's deterministic algorithms (and cuDNN's) for the duration of a fit or predict.

    On CUDA, cuBLAS needs ``CUBLAS_WORKSPACE_CONFIG`` for deterministic
    matrix products; it is set to ``":4096:8"`` unless set already. cuBLAS
    reads it when the process first uses CUDA, so a process that ran CUDA
    work before the first ``deterministic=True`` fit should set it itself.
    An operation without a deterministic implementation raises
    ``RuntimeError``. The switches are process-wide: fits running at the same
    time in threads of one process see them too.
    """
    if not on:
        yield
        return
    if device.type == "cuda":
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    cudnn = torch.backends.cudnn
    previous = (torch.are_deterministic_algorithms_enabled(),
                torch.is_deterministic_algorithms_warn_only_enabled(),
                cudnn.deterministic, cudnn.benchmark)
    torch.use_deterministic_algorithms(True)
    cudnn.deterministic, cudnn.benchmark = True, False
    try:
        yield
    finally:
        torch.use_deterministic_algorithms(previous[0], warn_only=previous[1])
        cudnn.deterministic, cudnn.benchmark = previous[2], previous[3]
