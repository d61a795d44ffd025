"""Torch threads per fit: where more than one pays off (issue 20, ``n_threads="auto"``).

For MLPs of growing width (one hidden layer pair, batch 200, Adam) this
times a fixed number of training steps with 1 thread and with every core,
and reports the work of one step in FLOPs (forward and backward, about
6 x batch x weights) next to the ratio. Run it once on an idle machine
and once with ``--load N`` busy processes beside it (the other tenants of
a shared box, or the other folds of an ``n_jobs`` search):

    python benchmarks/bench_threads.py            # idle
    python benchmarks/bench_threads.py --load 1   # one core kept busy
"""

import argparse
import multiprocessing
import os
import time
import warnings

import numpy as np
import torch

warnings.filterwarnings("ignore")

WIDTHS = (16, 32, 64, 100, 128, 256, 512, 1024, 2048)


def busy(stop):
    while not stop.is_set():
        sum(i * i for i in range(10000))


def step_flops(n_features, widths, n_outputs, batch):
    sizes = [n_features, *widths, n_outputs]
    return 6 * batch * sum(a * b for a, b in zip(sizes[:-1], sizes[1:]))


def fit_seconds(X, y, width, threads, epochs):
    from skneural import MLPClassifier

    start = time.perf_counter()
    MLPClassifier((width, width), batch_size=200, max_iter=epochs, tol=0,
                  n_iter_no_change=10**9, random_state=0, n_threads=threads).fit(X, y)
    return time.perf_counter() - start


def other_estimators():
    """(label, fit(threads)) for the other estimators at their defaults, fixed epochs."""
    import sys

    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from bench_bare import convnet_data, gan_data, lstm_data
    from skneural import ConvNetClassifier, GANSampler, LSTMSequenceClassifier

    Xc, yc = convnet_data()
    Xl, yl, _ = lstm_data()
    Xg, _ = gan_data()
    fixed = {"tol": 0, "n_iter_no_change": 10**9, "random_state": 0}
    return [
        ("ConvNet defaults, digits, 5 epochs",
         lambda t: ConvNetClassifier(max_iter=5, n_threads=t, **fixed).fit(Xc, yc)),
        ("LSTM defaults, 2000 x 100 steps, 2 epochs",
         lambda t: LSTMSequenceClassifier(max_iter=2, n_threads=t, **fixed).fit(Xl, yl)),
        ("GANSampler defaults, 2000 rows, 30 epochs",
         lambda t: GANSampler(max_iter=30, n_threads=t, categorical_features=[6, 7],
                              random_state=0).fit(Xg)),
    ]


def step_flops_of(fit):
    """The step FLOPs ``n_threads="auto"`` sees for one fit (1 epoch)."""
    from skneural._core import device

    seen = []
    original = device.auto_threads

    def spy(n_threads, step_flops, dev):
        seen.append(step_flops())

    import skneural._core.engine as engine
    import skneural._gan.training as training

    engine.auto_threads = training.auto_threads = spy
    try:
        fit("auto")
    finally:
        engine.auto_threads = training.auto_threads = original
    return seen[0]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--load", type=int, default=0, help="busy processes beside the fits")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--rows", type=int, default=4000)
    parser.add_argument("--others", action="store_true",
                        help="also the ConvNet, LSTM and GAN defaults")
    parser.add_argument("--only-others", action="store_true")
    args = parser.parse_args()
    cores = os.cpu_count()
    stop = multiprocessing.Event()
    workers = [multiprocessing.Process(target=busy, args=(stop,)) for _ in range(args.load)]
    for w in workers:
        w.start()
    try:
        rng = np.random.RandomState(0)
        X = rng.normal(size=(args.rows, 64)).astype(np.float32)
        y = (X[:, :4].sum(axis=1) > 0).astype(int)
        print(f"torch {torch.__version__}, {cores} cores, {args.load} busy process(es), "
              f"load average {os.getloadavg()[0]:.1f}\n")
        print(f"| network | MFLOP per step | 1 thread s | {cores} threads s | "
              f"{cores} threads / 1 |")
        print("|---|---|---|---|---|")
        for width in (() if args.only_others else WIDTHS):
            epochs = max(1, int(2e10 / (step_flops(64, (width, width), 2, 200) * args.rows / 200)))
            epochs = min(epochs, 20)
            fit_seconds(X, y, width, 1, 1)
            times = {1: [], cores: []}
            for r in range(args.repeats):
                for threads in ((1, cores) if r % 2 == 0 else (cores, 1)):
                    times[threads].append(fit_seconds(X, y, width, threads, epochs))
            one, many = np.median(times[1]), np.median(times[cores])
            print(f"| {width}-{width} | {step_flops(64, (width, width), 2, 200) / 1e6:.0f} "
                  f"| {one:.2f} | {many:.2f} | {many / one:.2f}x |", flush=True)
        if args.others or args.only_others:
            for label, fit in other_estimators():
                flops = step_flops_of(fit)
                fit(1)
                times = {1: [], cores: []}
                for r in range(args.repeats):
                    for threads in ((1, cores) if r % 2 == 0 else (cores, 1)):
                        start = time.perf_counter()
                        fit(threads)
                        times[threads].append(time.perf_counter() - start)
                one, many = np.median(times[1]), np.median(times[cores])
                print(f"| {label} | {flops / 1e6:.0f} | {one:.2f} | {many:.2f} "
                      f"| {many / one:.2f}x |", flush=True)
    finally:
        stop.set()
        for w in workers:
            w.join()


if __name__ == "__main__":
    main()
