"""The GPU path's CPU-testable parts: device spreading, mixed precision, determinism, memory.

No CUDA here: GPUs are faked by patching ``torch.cuda``'s counts, and what
only a GPU can show (speed, memory on the card, GPU->CPU loading) is left to
``benchmarks/gpu_check.py``, whose CPU rehearsal runs at the end.
"""

import gc
import os
import pickle
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
from joblib import Parallel, delayed, parallel_backend
from joblib.externals.loky import get_reusable_executor
from sklearn.model_selection import GridSearchCV

import skneural._core.base as base_module
import skneural._gan.estimator as gan_module
from skneural import MLPClassifier
from skneural._core.device import (
    MixedPrecision,
    available_device,
    check_precision,
    deterministic_algorithms,
    resolve_device,
    worker_ordinal,
)

from _estimators import FACTORIES, data, fit

ROOT = Path(__file__).resolve().parents[1]


def fake_gpus(monkeypatch, count, current=0):
    """Make torch report ``count`` CUDA devices (nothing is ever allocated on them)."""
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: count)
    monkeypatch.setattr(torch.cuda, "current_device", lambda: current)


def outputs(name, est, X):
    if name == "GANSampler":
        return np.asarray(est.sample(20, random_state=0))
    if hasattr(est, "predict_proba"):
        return est.predict_proba(X)
    return est.predict(X)


# ------------------------------------------------------------ device spreading
def test_cuda_in_the_main_thread_is_the_current_device(monkeypatch):
    fake_gpus(monkeypatch, 4, current=2)
    assert resolve_device("cuda") == torch.device("cuda", 2)
    assert resolve_device("auto") == torch.device("cuda", 2)
    assert resolve_device("cuda:3") == torch.device("cuda", 3)  # pinned
    with pytest.raises(ValueError, match="only 4 CUDA devices"):
        resolve_device("cuda:4")


def _resolve_in_worker():
    time.sleep(0.05)  # keep each worker busy so the pool uses all of them
    return str(resolve_device("cuda")), worker_ordinal()


def test_threads_spread_round_robin_over_the_gpus(monkeypatch):
    fake_gpus(monkeypatch, 3)
    results = Parallel(n_jobs=3, backend="threading")(
        delayed(_resolve_in_worker)() for _ in range(9))
    assert {device for device, _ in results} == {"cuda:0", "cuda:1", "cuda:2"}
    for device, ordinal in results:
        assert device == f"cuda:{ordinal % 3}"
    pinned = Parallel(n_jobs=3, backend="threading")(
        delayed(resolve_device)("cuda:1") for _ in range(6))
    assert set(map(str, pinned)) == {"cuda:1"}


def _resolve_in_process(count):
    torch.cuda.is_available = lambda: True
    torch.cuda.device_count = lambda: count
    return _resolve_in_worker()


def test_loky_processes_spread_over_the_gpus():
    try:
        results = Parallel(n_jobs=2, backend="loky")(
            delayed(_resolve_in_process)(2) for _ in range(6))
    finally:  # leave no worker running for the tests after this one
        get_reusable_executor().shutdown(wait=True)
    assert {device for device, _ in results} == {"cuda:0", "cuda:1"}
    for device, ordinal in results:
        assert device == f"cuda:{ordinal % 2}"


def test_grid_search_fits_land_on_every_gpu(monkeypatch):
    """The estimators' own device resolution, inside GridSearchCV's workers."""
    fake_gpus(monkeypatch, 2)
    chosen = []

    def record(device):
        chosen.append(str(resolve_device(device)))
        return torch.device("cpu")  # train here: the GPUs are fake

    monkeypatch.setattr(base_module, "resolve_device", record)
    X, y = data("MLPClassifier", n=60)
    search = GridSearchCV(FACTORIES["MLPClassifier"](device="cuda"),
                          {"alpha": [1e-4, 1e-3, 1e-2]}, cv=2)
    with parallel_backend("threading", n_jobs=2):
        search.fit(X, y)
    assert set(chosen[:-1]) == {"cuda:0", "cuda:1"}  # the folds' fits
    assert chosen[-1] == "cuda:0"  # the refit, in the main thread: the current device


def test_dask_workers_spread_over_the_gpus(monkeypatch):
    distributed = pytest.importorskip("distributed")
    fake_gpus(monkeypatch, 2)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                                  dashboard_address=None) as cluster, \
            distributed.Client(cluster) as client:
        workers = list(client.scheduler_info()["workers"])
        devices = [client.submit(resolve_device, "cuda", workers=[w], pure=False).result()
                   for w in workers]
    assert set(map(str, devices)) == {"cuda:0", "cuda:1"}


def test_a_model_from_a_bigger_gpu_machine_runs_on_this_one(monkeypatch):
    fake_gpus(monkeypatch, 1)
    assert available_device("cuda:3") == torch.device("cuda", 0)
    assert available_device("cuda:0") == torch.device("cuda", 0)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert available_device("cuda:3") == torch.device("cpu")


# ------------------------------------------------------------- mixed precision
@pytest.mark.parametrize("name", list(FACTORIES))
@pytest.mark.parametrize("precision", ["bf16", "fp16"])
def test_mixed_precision_runs_the_forward_pass_in_low_precision(name, precision):
    X, y = data(name)
    low = {"bf16": torch.bfloat16, "fp16": torch.float16}[precision]
    seen = set()
    original = torch.nn.Linear.forward

    def forward(self, x):
        out = original(self, x)
        seen.add(out.dtype)
        return out

    torch.nn.Linear.forward = forward
    try:
        est = fit(name, X, y, precision=precision)
    finally:
        torch.nn.Linear.forward = original
    assert low in seen
    reference = fit(name, X, y)
    # float32 master weights (X is float64), and the low-precision fit is a different fit
    assert all(p.dtype == torch.float32 for p in est.module_.parameters())
    assert np.all(np.isfinite(outputs(name, est, X)))
    assert not np.array_equal(outputs(name, est, X), outputs(name, reference, X))
    if name != "GANSampler":  # the GAN keeps one scaler per network for the fit only
        assert (est._grad_scaler is not None) == (precision == "fp16")


@pytest.mark.parametrize("precision", ["bf16", "fp16"])
def test_mixed_precision_reaches_full_precision_accuracy(precision):
    from sklearn.datasets import load_digits
    X, y = load_digits(return_X_y=True)
    X = X / 16.0
    params = dict(hidden_layer_sizes=(64,), batch_norm=True, dropout=0.1, max_iter=30,
                  random_state=0, n_threads=1)
    full = MLPClassifier(**params).fit(X[:1200], y[:1200]).score(X[1200:], y[1200:])
    low = MLPClassifier(precision=precision, **params).fit(X[:1200], y[:1200])
    assert low.score(X[1200:], y[1200:]) >= full - 0.02
    assert low.predict_proba(X[:3]).dtype == np.float64


def test_the_loss_scaler_hands_the_optimizer_true_gradients():
    """fp16 scaling is invisible to the step: gradients equal those of the unscaled loss."""
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(5, 7), torch.nn.Tanh(), torch.nn.Linear(7, 1))
    x, t = torch.randn(30, 5), torch.randn(30, 1)
    opt = torch.optim.SGD(net.parameters(), lr=0.1)
    amp = MixedPrecision("fp16", torch.device("cpu"))
    with amp.autocast():
        loss = torch.nn.functional.mse_loss(net(x).float(), t)
    amp.backward(loss, opt)
    scaled = [p.grad.clone() for p in net.parameters()]
    net.zero_grad()
    with amp.autocast():
        torch.nn.functional.mse_loss(net(x).float(), t).backward()
    for got, want in zip(scaled, (p.grad for p in net.parameters())):
        torch.testing.assert_close(got, want, rtol=1e-2, atol=1e-4)
    before = [p.detach().clone() for p in net.parameters()]
    amp.step(opt)
    assert any(not torch.equal(b, p) for b, p in zip(before, net.parameters()))


def test_the_loss_scaler_skips_a_step_whose_gradients_overflowed():
    net = torch.nn.Linear(3, 1)
    opt = torch.optim.SGD(net.parameters(), lr=0.1)
    amp = MixedPrecision("fp16", torch.device("cpu"))
    scale = amp.scaler.get_scale()
    loss = (net(torch.ones(2, 3)) * torch.tensor(float("inf"))).sum()
    amp.backward(loss, opt)
    before = [p.detach().clone() for p in net.parameters()]
    amp.step(opt)
    assert all(torch.equal(b, p) for b, p in zip(before, net.parameters()))
    assert amp.scaler.get_scale() < scale


def test_mixed_precision_is_refused_where_it_cannot_apply():
    X, y = data("MLPClassifier")
    with pytest.raises(ValueError, match="precision='bf16'.*L-BFGS"):
        FACTORIES["MLPClassifier"](precision="bf16", solver="lbfgs").fit(X, y)
    assert FACTORIES["MLPClassifier"](precision="bf16", solver="auto").fit(X, y).solver_ == "adam"
    with pytest.raises(ValueError, match="precision='fp16' is supported on 'cuda' and 'cpu'"):
        check_precision("fp16", torch.device("mps"))
    with pytest.raises(ValueError, match="precision"):
        FACTORIES["MLPClassifier"](precision="fp32").fit(X, y)


def test_a_pickled_fp16_model_continues_training():
    X, y = data("MLPClassifier")
    est = fit("MLPClassifier", X, y, precision="fp16")
    loaded = pickle.loads(pickle.dumps(est))
    assert "_grad_scaler" not in loaded.__dict__
    loaded.partial_fit(X, y)
    assert loaded._grad_scaler is not None
    assert np.all(np.isfinite(loaded.predict_proba(X)))


# ---------------------------------------------------------------- determinism
@pytest.mark.parametrize("name", list(FACTORIES))
def test_deterministic_changes_nothing_on_the_cpu_but_is_on_during_fit(name, monkeypatch):
    X, y = data(name)
    seen = []
    for module, loop in ((base_module, "train_stochastic"), (gan_module, "train_adversarial")):
        def spy(*args, _loop=getattr(module, loop), **kwargs):
            seen.append(torch.are_deterministic_algorithms_enabled())
            return _loop(*args, **kwargs)
        monkeypatch.setattr(module, loop, spy)
    est = fit(name, X, y, deterministic=True)
    assert seen == [True]
    assert not torch.are_deterministic_algorithms_enabled()  # restored
    np.testing.assert_array_equal(outputs(name, est, X), outputs(name, fit(name, X, y), X))


def test_deterministic_sets_cublas_workspace_and_restores_the_switches(monkeypatch):
    monkeypatch.delenv("CUBLAS_WORKSPACE_CONFIG", raising=False)
    cudnn = torch.backends.cudnn
    before = (cudnn.deterministic, cudnn.benchmark, torch.are_deterministic_algorithms_enabled())
    with deterministic_algorithms(True, torch.device("cuda", 0)):
        assert os.environ["CUBLAS_WORKSPACE_CONFIG"] == ":4096:8"
        assert torch.are_deterministic_algorithms_enabled()
        assert cudnn.deterministic and not cudnn.benchmark
    assert (cudnn.deterministic, cudnn.benchmark,
            torch.are_deterministic_algorithms_enabled()) == before
    monkeypatch.setenv("CUBLAS_WORKSPACE_CONFIG", ":16:8")
    with deterministic_algorithms(True, torch.device("cuda", 0)):
        assert os.environ["CUBLAS_WORKSPACE_CONFIG"] == ":16:8"  # the user's setting wins


# ---------------------------------------------------------------------- memory
@pytest.mark.parametrize("name", list(FACTORIES))
def test_a_fit_keeps_no_tensor_of_its_training_rows(name):
    """What stays after a fit is the network and its optimizer, not the data (memory on a GPU)."""
    n = 347  # no parameter has this many rows
    X, y = data(name, n=n)
    est = fit(name, X, y, batch_size=50)
    gc.collect()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch warns on some objects gc hands out
        kept = [o for o in gc.get_objects()
                if isinstance(o, torch.Tensor) and o.dim() > 0 and o.shape[0] == n]
    assert kept == []
    del est


# ------------------------------------------------------------- the GPU script
def test_the_gpu_check_script_passes_its_cpu_rehearsal(tmp_path):
    """``gpu_check.py --device cpu --quick`` runs every check with the CPU as the "GPU"."""
    out = tmp_path / "check.md"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    result = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "gpu_check.py"), "--device", "cpu",
         "--quick", "--out", str(out)], capture_output=True, text=True, env=env, timeout=600)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    table = out.read_text()
    for name in FACTORIES:
        assert f"| {name} |" in table
    assert "FAIL" not in table
