"""GPU check (issue 24): every estimator on CUDA against the CPU, in one command.

    python benchmarks/gpu_check.py                 # on a CUDA machine
    python benchmarks/gpu_check.py --device cpu --quick   # rehearsal, the CPU plays the GPU

For each of the six estimators: a fit on the device and the same fit on the
CPU (quality within a stated tolerance, not bitwise), the device model
pickled and skops-saved and then loaded, predicted with and trained on
(``partial_fit``, the GAN's ``warm_start``) in a subprocess with
``CUDA_VISIBLE_DEVICES=""``, and the device's memory after the fit (at most
the network, its gradients and the optimizer state) and after ``del`` (the
baseline). Then mixed precision, ``deterministic=True``, fits spread over the
GPUs by parallel workers, and fit/predict times on the device against the CPU
for the wide MLP at 200k rows, the ConvNet on digits and the LSTM on 100-step
sequences. Writes a markdown report (``--out``) and exits 1 on any failure.

Inputs are float32 (what a GPU user passes; float64 inputs train in float64).
skops is optional: without it its column reads "skipped".
"""

import argparse
import gc
import json
import os
import pickle
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run from a checkout without installing

import torch  # noqa: E402
from joblib import Parallel, delayed  # noqa: E402
from scipy.stats import ks_2samp  # noqa: E402
from sklearn.datasets import load_breast_cancer, load_digits, make_friedman1  # noqa: E402
from sklearn.model_selection import train_test_split  # noqa: E402

from skneural import (  # noqa: E402
    ConvNetClassifier,
    GANSampler,
    LSTMSequenceClassifier,
    MixtureDensityRegressor,
    MLPClassifier,
    MLPRegressor,
)

try:
    import skops.io as skops_io
except ImportError:
    skops_io = None

warnings.filterwarnings("ignore", category=UserWarning)
warnings.filterwarnings("ignore", message=".*Maximum iterations.*")


def f32(*arrays):
    return tuple(np.asarray(a, dtype=np.float32) for a in arrays)


def sequences(n, steps, seed=0):
    """Two channels; the label is whether the first channel's sum in the second half is positive."""
    rng = np.random.RandomState(seed)
    X = rng.normal(size=(n, steps, 2)).astype(np.float32)
    return X, (X[:, steps // 2:, 0].sum(axis=1) > 0).astype(int)


# --------------------------------------------------------------- the six cases
def cases(quick):
    """name -> (factory(**params), train, test, quality(est, test), tolerance, higher_is_better)."""
    digits_X, digits_y = load_digits(return_X_y=True)
    digits_X = digits_X / 16.0
    n = 400 if quick else None
    Xd_tr, Xd_te, yd_tr, yd_te = train_test_split(digits_X[:n], digits_y[:n], random_state=0,
                                                  stratify=digits_y[:n])
    Xd_tr, Xd_te = f32(Xd_tr, Xd_te)
    Xf, yf = make_friedman1(n_samples=600 if quick else 3000, noise=0.5, random_state=0)
    Xf_tr, Xf_te, yf_tr, yf_te = train_test_split(*f32(Xf, yf), random_state=0)
    Xs_tr, ys_tr = sequences(200 if quick else 1000, 30 if quick else 100, seed=0)
    Xs_te, ys_te = sequences(100 if quick else 500, 30 if quick else 100, seed=1)
    cancer = load_breast_cancer().data[:, :6].astype(np.float32)
    Xg_tr, Xg_te = train_test_split(cancer, random_state=0)
    budget = {"max_iter": 3} if quick else {}

    def accuracy(est, data):
        return est.score(*data)

    def ks(est, data):  # mean KS distance between sampled and held-out columns (lower is better)
        rows = est.sample(len(data[0]), random_state=0)
        return float(np.mean([ks_2samp(rows[:, j], data[0][:, j]).statistic
                              for j in range(rows.shape[1])]))

    def nll(est, data):
        return float(-est.log_likelihood(*data).mean())

    return {
        "MLPClassifier": (lambda **p: MLPClassifier(batch_norm=True, dropout=0.1, **budget, **p),
                          (Xd_tr, yd_tr), (Xd_te, yd_te), accuracy, 0.03, True),
        "MLPRegressor": (lambda **p: MLPRegressor(**budget, **p),
                         (Xf_tr, yf_tr), (Xf_te, yf_te), accuracy, 0.03, True),
        "MixtureDensityRegressor": (lambda **p: MixtureDensityRegressor(
                                        solver="adam", **budget, **p),
                                    (Xf_tr, yf_tr), (Xf_te, yf_te), nll, 0.1, False),
        "ConvNetClassifier": (lambda **p: ConvNetClassifier(input_shape=(8, 8), **budget, **p),
                              (Xd_tr, yd_tr), (Xd_te, yd_te), accuracy, 0.03, True),
        "LSTMSequenceClassifier": (lambda **p: LSTMSequenceClassifier(**(budget or {"max_iter": 30}), **p),
                                   (Xs_tr, ys_tr), (Xs_te, ys_te), accuracy, 0.05, True),
        "GANSampler": (lambda **p: GANSampler(**budget, **p),
                       (Xg_tr,), (Xg_te,), ks, 0.05, False),
    }


# ------------------------------------------------------------------- helpers
def synchronize(device):
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def timed(fn, device):
    synchronize(device)
    start = time.perf_counter()
    result = fn()
    synchronize(device)
    return result, time.perf_counter() - start


def predictions(est, X):
    if isinstance(est, GANSampler):
        return est.sample(50, random_state=0)
    return est.predict_proba(X) if hasattr(est, "predict_proba") else est.predict(X)


def model_bytes(est):
    """Bytes a fitted model may keep on its device: weights, buffers, gradients, optimizer state."""
    tensors = list(est.module_.state_dict().values())
    tensors += [p.grad for p in est.module_.parameters() if p.grad is not None]
    optimizer = getattr(est, "_optimizer", None)
    if optimizer is not None:
        tensors += [v for state in optimizer.state.values() for v in state.values()
                    if isinstance(v, torch.Tensor)]
    return sum(t.numel() * t.element_size() for t in tensors if t.device.type == "cuda")


LOAD_SCRIPT = r"""
import json, pickle, sys, warnings
import numpy as np
sys.path.insert(0, sys.argv[1])
warnings.simplefilter("ignore")
import torch
assert not torch.cuda.is_available(), "CUDA_VISIBLE_DEVICES='' should hide the GPUs"
results = {}
for job in json.loads(sys.argv[2]):
    try:
        data = np.load(job["data"], allow_pickle=True)
        X, y, expected = data["X"], data["y"], data["expected"]
        if job["fmt"] == "pickle":
            with open(job["path"], "rb") as fh:
                est = pickle.load(fh)
        else:
            import skops.io, skneural
            est = skops.io.load(job["path"], trusted=skneural.TRUSTED_TYPES)
        assert all(p.device.type == "cpu" for p in est.module_.parameters())
        if type(est).__name__ == "GANSampler":
            got = est.sample(50, random_state=0)
            est.set_params(warm_start=True, max_iter=1).fit(X)
            after = est.sample(5, random_state=0)
        else:
            got = est.predict_proba(X) if hasattr(est, "predict_proba") else est.predict(X)
            est.partial_fit(X, y)
            after = est.predict(X)
        assert est.device_ == "cpu", est.device_
        assert np.all(np.isfinite(np.asarray(after, float))), "non-finite after training"
        diff = float(np.max(np.abs(np.asarray(got, float) - np.asarray(expected, float))))
        results[job["key"]] = "OK" if diff <= 1e-3 else f"MISMATCH max diff {diff:.2g}"
    except Exception as exc:
        results[job["key"]] = f"error: {type(exc).__name__}: {str(exc)[:80]}"
print(json.dumps(results))
"""


def save_for_cpu(est, X, y, workdir):
    """Pickle and skops-save ``est`` with rows, targets and its predictions: jobs for the loader."""
    name = type(est).__name__
    data = os.path.join(workdir, f"{name}-data.npz")
    np.savez(data, X=X, y=np.zeros(0) if y is None else y,
             expected=np.asarray(predictions(est, X), dtype=float))
    jobs = []
    for fmt in ("pickle", "skops"):
        path = os.path.join(workdir, f"{name}.{fmt}")
        if fmt == "pickle":
            with open(path, "wb") as fh:
                pickle.dump(est, fh)
        elif skops_io is not None:
            skops_io.dump(est, path)
        else:
            continue
        jobs.append({"key": f"{name} {fmt}", "fmt": fmt, "path": path, "data": data})
    return jobs


def load_on_cpu(jobs):
    """Load, predict with and train every saved model in one process that sees no GPU."""
    env = {**os.environ, "CUDA_VISIBLE_DEVICES": ""}
    result = subprocess.run([sys.executable, "-c", LOAD_SCRIPT, str(ROOT), json.dumps(jobs)],
                            capture_output=True, text=True, env=env, timeout=600)
    if result.returncode != 0:
        error = "error: " + (result.stderr.strip().splitlines() or ["?"])[-1][:80]
        return {job["key"]: error for job in jobs}
    return json.loads(result.stdout.strip().splitlines()[-1])


# --------------------------------------------------------------------- checks
def check_estimators(device, quick, report):
    rows, failures, jobs = [], [], []
    workdir = tempfile.mkdtemp(prefix="gpu_check_")
    for name, (make, train, test, quality, tol, higher) in cases(quick).items():
        print(f"[estimator] {name}", flush=True)
        is_gpu = device.type == "cuda"
        baseline = torch.cuda.memory_allocated(device) if is_gpu else 0
        cpu_est, cpu_fit = timed(lambda: make(random_state=0, device="cpu").fit(*train),
                                 torch.device("cpu"))
        est, dev_fit = timed(lambda: make(random_state=0, device=str(device)).fit(*train), device)
        q_cpu, q_dev = quality(cpu_est, test), quality(est, test)
        _, dev_predict = timed(lambda: predictions(est, test[0]), device)
        quality_ok = (q_dev >= q_cpu - tol) if higher else (q_dev <= q_cpu + tol)
        fitted_on = est.device_
        placed = all(p.device.type == device.type for p in est.module_.parameters())

        memory, freed = "n/a (cpu)", "n/a (cpu)"
        memory_ok = freed_ok = True
        if is_gpu:
            gc.collect()
            extra = torch.cuda.memory_allocated(device) - baseline
            allowed = model_bytes(est) + (1 << 20)
            memory_ok = extra <= allowed
            memory = f"{extra / 2**20:.2f} MiB (model {model_bytes(est) / 2**20:.2f})"

        jobs += save_for_cpu(est, test[0][:64], None if len(test) == 1 else test[1][:64],
                             workdir)
        if is_gpu:
            del est
            gc.collect()
            left = torch.cuda.memory_allocated(device) - baseline
            freed_ok = left <= 0
            freed = f"{left / 2**20:.2f} MiB"
            torch.cuda.empty_cache()
        ok = quality_ok and placed and memory_ok and freed_ok
        rows.append([name, fitted_on, f"{q_cpu:.4f}", f"{q_dev:.4f}",
                     f"{'>=' if higher else '<='} cpu {'-' if higher else '+'} {tol}",
                     f"{cpu_fit:.1f} / {dev_fit:.1f}", f"{dev_predict * 1000:.0f}",
                     None, None, memory, freed, ok])
    print("[estimator] loading the saved models in a process without GPUs", flush=True)
    loaded = load_on_cpu(jobs)
    for row in rows:
        pickled = loaded.get(f"{row[0]} pickle", "missing")
        skopsed = loaded.get(f"{row[0]} skops", "skipped (skops not installed)"
                             if skops_io is None else "missing")
        row[7:9] = [pickled, skopsed]
        ok = row[-1] and pickled == "OK" and (skopsed == "OK" or skops_io is None)
        row[-1] = "ok" if ok else "FAIL"
        if not ok:
            failures.append(row[0])
    report.table("Every estimator on the device against the CPU",
                 ["estimator", "device_", "CPU quality", "device quality", "pass if",
                  "fit s (CPU / device)", "predict ms", "pickle -> CPU-only process",
                  "skops -> CPU-only process", "memory after fit", "after del", "status"],
                 rows,
                 "Quality: accuracy or R^2 (higher is better), the MDN's test NLL and the "
                 "GAN's mean KS distance to held-out columns (lower is better). The CPU-only "
                 "process loads the model, compares its predictions with the device's (1e-3), "
                 "then runs partial_fit (the GAN: a warm_start fit).")
    return failures


def check_precision(device, quick, report):
    rows, failures = [], []
    digits_X, digits_y = load_digits(return_X_y=True)
    n = 400 if quick else None
    X_tr, X_te, y_tr, y_te = train_test_split(*f32(digits_X[:n] / 16.0), digits_y[:n],
                                              random_state=0, stratify=digits_y[:n])
    budget = {"max_iter": 3} if quick else {"max_iter": 40, "n_iter_no_change": np.inf}
    tol = 0.1 if quick else 0.03  # --quick's 3-epoch fits are far from converged
    makers = {
        "MLP 64-256-256 (bn, dropout)": lambda **p: MLPClassifier(
            hidden_layer_sizes=(256, 256), batch_norm=True, dropout=0.2, **budget, **p),
        "ConvNet": lambda **p: ConvNetClassifier(input_shape=(8, 8), **budget, **p),
    }
    for label, make in makers.items():
        print(f"[precision] {label}", flush=True)
        reference = None
        for precision in (None, "bf16", "fp16"):
            est, seconds = timed(lambda: make(random_state=0, device=str(device),
                                              precision=precision).fit(X_tr, y_tr), device)
            score = est.score(X_te, y_te)
            reference = score if precision is None else reference
            ok = bool(np.isfinite(est.loss_)) and score >= reference - tol
            failures += [] if ok else [f"{label} {precision}"]
            rows.append([label, str(precision), f"{score:.4f}", f"{seconds:.2f}",
                         "ok" if ok else "FAIL"])
    report.table("Mixed precision (precision=...)", ["network", "precision", "accuracy",
                                                     "fit s", "status"], rows,
                 f"Pass if the accuracy is within {tol} of float32's.")
    return failures


def check_deterministic(device, quick, report):
    rows, failures = [], []
    Xs, ys = sequences(200 if quick else 1000, 30 if quick else 100)
    Xd, yd = load_digits(return_X_y=True)
    Xd = (Xd / 16.0).astype(np.float32)
    budget = {"max_iter": 3} if quick else {"max_iter": 10, "n_iter_no_change": np.inf}
    makers = {
        "MLP (bn, dropout)": (lambda **p: MLPClassifier(hidden_layer_sizes=(256, 256),
                                                        batch_norm=True, dropout=0.2,
                                                        **budget, **p), Xd, yd),
        "LSTM": (lambda **p: LSTMSequenceClassifier(**budget, **p), Xs, ys),
    }
    for label, (make, X, y) in makers.items():
        print(f"[deterministic] {label}", flush=True)
        result = {}
        for flag in (False, True):
            fits = [timed(lambda: make(random_state=0, device=str(device),
                                       deterministic=flag).fit(X, y), device)
                    for _ in range(2)]
            same = np.array_equal(fits[0][0].predict_proba(X), fits[1][0].predict_proba(X))
            result[flag] = (same, np.median([s for _, s in fits]))
        ok = result[True][0]
        failures += [] if ok else [label]
        rows.append([label, "yes" if result[False][0] else "no", f"{result[False][1]:.2f}",
                     "yes" if result[True][0] else "no", f"{result[True][1]:.2f}",
                     f"{result[True][1] / result[False][1]:.2f}x", "ok" if ok else "FAIL"])
    report.table("deterministic=True: two seeded fits", [
        "network", "bitwise equal (False)", "fit s (False)", "bitwise equal (True)",
        "fit s (True)", "cost", "status"], rows,
        "Pass if the two deterministic=True fits predict bitwise alike.")
    return failures


def _fit_device(device):
    X, y = load_digits(return_X_y=True)
    est = MLPClassifier(hidden_layer_sizes=(16,), max_iter=2, device=device,
                        random_state=0).fit(X[:200].astype(np.float32), y[:200])
    time.sleep(0.2)  # stay busy, so the pool hands the next task to another worker
    return est.device_


def check_spread(device, report):
    if device.type != "cuda":
        report.table("Fits spread over the GPUs", ["backend", "result"],
                     [["-", "n/a (cpu)"]], "")
        return []
    count = torch.cuda.device_count()
    rows, failures = [], []
    for backend in ("threading", "loky"):
        print(f"[spread] {backend}", flush=True)
        n_jobs = max(2, min(4, count))
        used = Parallel(n_jobs=n_jobs, backend=backend)(
            delayed(_fit_device)("cuda") for _ in range(2 * n_jobs))
        want = {f"cuda:{i}" for i in range(min(count, n_jobs))}
        ok = set(used) == want
        failures += [] if ok else [backend]
        rows.append([backend, str(n_jobs), str(count), ", ".join(sorted(set(used))),
                     ", ".join(sorted(want)), "ok" if ok else "FAIL"])
    report.table("Fits spread over the GPUs (device='cuda' in parallel workers)",
                 ["backend", "n_jobs", "GPUs", "devices used", "expected", "status"], rows, "")
    return failures


def check_speed(device, quick, report):
    if device.type != "cuda":
        report.table("Speed, device against CPU", ["workload", "result"], [["-", "n/a (cpu)"]], "")
        return []
    rng = np.random.RandomState(0)
    n = 20_000 if quick else 200_000
    X_wide = rng.normal(size=(n, 64)).astype(np.float32)
    y_wide = (X_wide[:, :10] @ rng.normal(size=10) > 0).astype(int) + 2 * (X_wide[:, 10] > 0)
    Xd, yd = load_digits(return_X_y=True)
    Xd = (Xd / 16.0).astype(np.float32)
    Xs, ys = sequences(1000, 100)
    fixed = {"n_iter_no_change": np.inf}
    workloads = {
        f"wide MLP 64-256-256-4, {n} rows, 5 epochs, batch 200": (
            lambda d: MLPClassifier(hidden_layer_sizes=(256, 256), batch_size=200, max_iter=5,
                                    device=d, random_state=0, **fixed), X_wide, y_wide),
        f"wide MLP, {n} rows, 5 epochs, batch 2048": (
            lambda d: MLPClassifier(hidden_layer_sizes=(256, 256), batch_size=2048, max_iter=5,
                                    device=d, random_state=0, **fixed), X_wide, y_wide),
        "ConvNet digits, defaults": (
            lambda d: ConvNetClassifier(input_shape=(8, 8), device=d, random_state=0), Xd, yd),
        "LSTM(64), 1000 x 100 steps, 10 epochs": (
            lambda d: LSTMSequenceClassifier(hidden_size=64, max_iter=10, device=d,
                                             random_state=0, **fixed), Xs, ys),
    }
    rows = []
    for label, (make, X, y) in workloads.items():
        print(f"[speed] {label}", flush=True)
        times = {}
        for where in ("cpu", str(device)):
            d = torch.device(where)
            est, fit_s = timed(lambda: make(where).fit(X, y), d)
            _, predict_s = timed(lambda: est.predict_proba(X), d)
            times[where] = (fit_s, predict_s, est.n_iter_)
        (cf, cp, ci), (gf, gp, gi) = times["cpu"], times[str(device)]
        rows.append([label, f"{cf:.1f}", f"{gf:.1f}", f"{cf / gf:.1f}x", f"{cp:.2f}",
                     f"{gp:.2f}", f"{cp / gp:.1f}x", f"{ci} / {gi}"])
    report.table("Speed, device against CPU (this machine's cores)",
                 ["workload", "CPU fit s", "GPU fit s", "fit speed-up", "CPU predict s",
                  "GPU predict s", "predict speed-up", "epochs (CPU / GPU)"], rows,
                 f"CPU: {os.cpu_count()} cores, torch's default threads.")
    return []


class Report:
    def __init__(self, header):
        self.parts = [header]

    def table(self, title, columns, rows, note):
        lines = [f"## {title}", "", "| " + " | ".join(columns) + " |",
                 "|" + "---|" * len(columns)]
        lines += ["| " + " | ".join(map(str, row)) + " |" for row in rows]
        self.parts.append("\n".join(lines) + ("\n\n" + note if note else ""))

    def text(self):
        return "\n\n".join(self.parts) + "\n"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda", help="'cuda' (default) or 'cpu' to rehearse")
    parser.add_argument("--quick", action="store_true", help="small data and 3 epochs")
    parser.add_argument("--out", default="gpu_check.md")
    parser.add_argument("--skip", nargs="*", default=[],
                        choices=["estimators", "precision", "deterministic", "spread", "speed"])
    args = parser.parse_args()
    device = torch.device(args.device)
    if device.type == "cuda":
        if not torch.cuda.is_available():
            sys.exit("gpu_check: CUDA is not available here; use --device cpu to rehearse.")
        device = torch.device("cuda", torch.cuda.current_device() if device.index is None
                              else device.index)
        name = torch.cuda.get_device_name(device)
    else:
        name = "CPU rehearsal"
    started = time.perf_counter()
    report = Report(f"# gpu_check: {name}\n\ntorch {torch.__version__}, "
                    f"{os.cpu_count()} CPU cores, "
                    f"{'quick' if args.quick else 'full'} run, "
                    f"skops {'installed' if skops_io is not None else 'missing'}.")
    failures = []
    checks = {
        "estimators": lambda: check_estimators(device, args.quick, report),
        "precision": lambda: check_precision(device, args.quick, report),
        "deterministic": lambda: check_deterministic(device, args.quick, report),
        "spread": lambda: check_spread(device, report),
        "speed": lambda: check_speed(device, args.quick, report),
    }
    for key, check in checks.items():
        if key in args.skip:
            continue
        try:
            failures += [f"{key}: {f}" for f in check()]
        except Exception as exc:  # a check that crashes is a failure, the others still run
            failures.append(f"{key}: {type(exc).__name__}: {exc}")
            report.table(f"{key} crashed", ["error"], [[f"{type(exc).__name__}: {exc}"]], "")
    summary = "all checks passed" if not failures else "FAILED: " + "; ".join(failures)
    report.parts.append(f"**{summary}** ({time.perf_counter() - started:.0f} s)")
    Path(args.out).write_text(report.text())
    print(report.text())
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
