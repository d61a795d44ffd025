"""MLP fit and predict speed: skneural vs a bare PyTorch loop, sklearn and skorch.

Every contender trains the same network (same widths, ReLU, Adam, lr 1e-3,
fixed epochs, no early stopping, float32 data) in one process, one after the
other, repeated ``--repeats`` times; the table reports medians and ratios.

    python benchmarks/bench_mlp.py                 # the full series
    python benchmarks/bench_mlp.py --quick         # small sizes only

Needs the ``bench`` extra (skorch) for the skorch column; it is skipped
without it.
"""

import argparse
import os
import platform
import time
import warnings

import numpy as np
import torch
from sklearn.datasets import make_classification
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier as SkMLP

from skneural import MLPClassifier

warnings.filterwarnings("ignore", category=ConvergenceWarning)


def data(n_rows, n_features, n_classes, seed=0):
    X, y = make_classification(n_samples=n_rows + 2000, n_features=n_features,
                               n_informative=min(n_features, 16), n_classes=n_classes,
                               random_state=seed)
    X = ((X - X.mean(0)) / X.std(0)).astype(np.float32)
    return X[:n_rows], y[:n_rows], X[n_rows:], y[n_rows:]


def bare_torch(X, y, hidden, n_classes, epochs, batch):
    """A hand-written loop: tensors in memory, randperm batches, Adam."""
    torch.manual_seed(0)
    layers, n_in = [], X.shape[1]
    for width in hidden:
        layers += [torch.nn.Linear(n_in, width), torch.nn.ReLU()]
        n_in = width
    net = torch.nn.Sequential(*layers, torch.nn.Linear(n_in, n_classes))
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    Xt, yt = torch.from_numpy(X), torch.from_numpy(y).long()
    for _ in range(epochs):
        perm = torch.randperm(len(Xt))
        for i in range(0, len(Xt), batch):
            idx = perm[i:i + batch]
            opt.zero_grad()
            loss = torch.nn.functional.cross_entropy(net(Xt[idx]), yt[idx])
            loss.backward()
            opt.step()
    net.eval()

    def predict(Xq):
        with torch.inference_mode():
            return net(torch.from_numpy(Xq)).argmax(1).numpy()
    return predict


def skorch_net(hidden, n_features, n_classes, epochs, batch):
    from skorch import NeuralNetClassifier

    class Net(torch.nn.Module):
        def __init__(self):
            super().__init__()
            layers, n_in = [], n_features
            for width in hidden:
                layers += [torch.nn.Linear(n_in, width), torch.nn.ReLU()]
                n_in = width
            self.net = torch.nn.Sequential(*layers, torch.nn.Linear(n_in, n_classes))

        def forward(self, x):
            return self.net(x)

    return NeuralNetClassifier(Net, max_epochs=epochs, batch_size=batch, lr=1e-3,
                               optimizer=torch.optim.Adam, criterion=torch.nn.CrossEntropyLoss,
                               train_split=None, verbose=0, iterator_train__shuffle=True)


def timed(fn):
    start = time.perf_counter()
    out = fn()
    return time.perf_counter() - start, out


def matmul_peak():
    a = torch.randn(2048, 2048)
    b = torch.randn(2048, 2048)
    a @ b
    start = time.perf_counter()
    for _ in range(5):
        a @ b
    return 5 * 2 * 2048 ** 3 / (time.perf_counter() - start) / 1e9


def fit_flops(n_rows, sizes, epochs):
    macs = sum(a * b for a, b in zip(sizes[:-1], sizes[1:]))
    return 6 * macs * n_rows * epochs  # forward 2, backward 4 flops per multiply-add


def run_fit(n_rows, hidden, n_features, n_classes, epochs, batch, repeats, with_skorch):
    X, y, X_te, y_te = data(n_rows, n_features, n_classes)
    contenders = {
        "bare torch": lambda: bare_torch(X, y, hidden, n_classes, epochs, batch),
        "skneural": lambda: MLPClassifier(hidden, batch_size=batch, max_iter=epochs, tol=0,
                                          n_iter_no_change=10**9, random_state=0).fit(X, y).predict,
        "sklearn": lambda: SkMLP(hidden, batch_size=batch, max_iter=epochs, tol=0,
                                 n_iter_no_change=10**9, random_state=0).fit(X, y).predict,
    }
    if with_skorch:
        contenders["skorch"] = lambda: skorch_net(hidden, n_features, n_classes, epochs,
                                                  batch).fit(X, y.astype(np.int64)).predict
    times = {name: [] for name in contenders}
    accuracy = {}
    for _ in range(repeats):
        for name, fit in contenders.items():
            seconds, predict = timed(fit)
            times[name].append(seconds)
            accuracy[name] = float((predict(X_te) == y_te).mean())
    return {name: (float(np.median(t)), accuracy[name]) for name, t in times.items()}, X, y


def run_predict(X, y, hidden, n_classes, repeats):
    """Single-row latency and 10k-row throughput of already-fitted models."""
    ours = MLPClassifier(hidden, max_iter=2, random_state=0).fit(X, y)
    theirs = SkMLP(hidden, max_iter=2, random_state=0).fit(X, y)
    bare = bare_torch(X, y, hidden, n_classes, 1, 200)
    row, block = X[:1], np.resize(X, (10_000, X.shape[1]))
    result = {}
    for name, predict in [("bare torch", bare), ("skneural", ours.predict),
                          ("sklearn", theirs.predict)]:
        predict(row)
        lat = []
        for _ in range(repeats * 200):
            start = time.perf_counter()
            predict(row)
            lat.append(time.perf_counter() - start)
        thr = [timed(lambda: predict(block))[0] for _ in range(repeats * 5)]
        result[name] = (float(np.median(lat)) * 1e6, float(np.median(thr)) * 1e3)
    return result


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    try:
        import skorch  # noqa: F401
        with_skorch = True
    except ImportError:
        with_skorch = False

    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"torch {torch.__version__}, {torch.get_num_threads()} torch threads")
    peak = matmul_peak()
    print(f"float32 2048x2048 matmul peak: {peak:.1f} GFLOP/s\n")

    configs = [
        ("wide 64-256-256-10", (256, 256), 64, 10, 200, [2_000, 20_000] if args.quick
         else [2_000, 20_000, 200_000], 5),
        ("tiny 20-100-2", (100,), 20, 2, 128, [20_000], 5),
    ]
    print("| network | rows | contender | fit s | ratio to skneural | test acc | GFLOP/s | % peak |")
    print("|---|---|---|---|---|---|---|---|")
    for label, hidden, n_features, n_classes, batch, sizes, epochs in configs:
        for n_rows in sizes:
            repeats = 1 if n_rows >= 200_000 else args.repeats
            res, X, y = run_fit(n_rows, hidden, n_features, n_classes, epochs, batch, repeats,
                                with_skorch and n_rows < 200_000)
            flops = fit_flops(n_rows, [n_features, *hidden, n_classes], epochs)
            base = res["skneural"][0]
            for name, (seconds, acc) in res.items():
                gflops = flops / seconds / 1e9
                print(f"| {label} | {n_rows:,} | {name} | {seconds:.3f} | {seconds / base:.2f} | "
                      f"{acc:.4f} | {gflops:.1f} | {100 * gflops / peak:.0f} |")
    X, y, _, _ = data(20_000, 64, 10)
    print("\n| predict | single row (us) | 10k rows (ms) |")
    print("|---|---|---|")
    for name, (lat, thr) in run_predict(X, y, (256, 256), 10, args.repeats).items():
        print(f"| {name} | {lat:.0f} | {thr:.2f} |")


if __name__ == "__main__":
    main()
