"""GANSampler quality on the ring of 8 Gaussians and the 5x5 grid (PacGAN's benchmark).

For each data set and seed: 2,500 training rows, one fit, 2,500 generated
rows. A generated row is *high quality* when it lies within 3 standard
deviations (Euclidean) of the nearest mode; a mode is *covered* when at
least 20 high-quality rows (of the 2,500) fall near it, the rule of the
VEEGAN and PacGAN papers.

    python benchmarks/bench_gan.py            # 5 seeds, both data sets
    python benchmarks/bench_gan.py --quick    # 1 seed, shorter fits
    python benchmarks/bench_gan.py --ctgan    # also the ctgan package, if importable
    python benchmarks/bench_gan.py --ablation # also numeric_encoding="standard"

Prints one table row per (data set, method) with mean modes covered, mean
share of high-quality rows, the worst seed and the mean fit time, as wall
time and as this process's CPU time (what the fit costs on an idle core,
whatever else loads the machine). Fits run
on one torch thread on float64 data, as a user's numpy array would arrive.
The fit time includes the rejection-sampling critic.
"""

import argparse
import time

import numpy as np
import torch

from skneural._gan import GANSampler

N_ROWS = 2500
MIN_ROWS_PER_MODE = 20


def ring(rng, n=N_ROWS, radius=1.0, std=0.01):
    """Eight Gaussians at eight distinct angles on a circle."""
    angles = 2 * np.pi * np.arange(8) / 8
    modes = radius * np.column_stack([np.cos(angles), np.sin(angles)])
    return modes[rng.randint(8, size=n)] + std * rng.randn(n, 2), modes, std


def grid(rng, n=N_ROWS, spacing=2.0, std=0.05):
    """Twenty-five Gaussians on a 5x5 grid."""
    ticks = spacing * np.arange(-2, 3)
    modes = np.array([(a, b) for a in ticks for b in ticks])
    return modes[rng.randint(25, size=n)] + std * rng.randn(n, 2), modes, std


def mode_scores(samples, modes, std):
    """(modes covered, share of high-quality samples)."""
    dist = np.linalg.norm(samples[:, None, :] - modes[None, :, :], axis=2)
    nearest, good = dist.argmin(axis=1), dist.min(axis=1) < 3 * std
    counts = np.bincount(nearest[good], minlength=len(modes))
    return int((counts >= MIN_ROWS_PER_MODE).sum()), float(good.mean())


def fit_skneural(X, seed, quick, **params):
    gan = GANSampler(random_state=seed, n_threads=1, **params)
    if quick:
        gan.set_params(max_iter=gan.max_iter // 3)
    start, cpu = time.perf_counter(), time.process_time()
    gan.fit(X)
    gan.cpu_seconds_ = time.process_time() - cpu  # this process's CPU time: load-independent
    return gan, time.perf_counter() - start


def run_ctgan(X, seed, quick):
    import pandas as pd
    from ctgan import CTGAN

    torch.manual_seed(seed)
    model = CTGAN(epochs=100 if quick else 300)
    start = time.perf_counter()
    model.fit(pd.DataFrame(X, columns=["x", "y"]))
    elapsed = time.perf_counter() - start
    return model.sample(N_ROWS).to_numpy(), elapsed


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--data", choices=["ring", "grid", "both"], default="both")
    parser.add_argument("--ctgan", action="store_true")
    parser.add_argument("--ablation", action="store_true",
                        help="also fit with numeric_encoding='standard'")
    args = parser.parse_args()
    torch.set_num_threads(1)
    seeds = range(1 if args.quick else args.seeds)
    datasets = {"ring": ring, "grid": grid}
    if args.data != "both":
        datasets = {args.data: datasets[args.data]}

    rows = []
    for name, make in datasets.items():
        # One fit per seed serves two rows: rejection sampling (the default)
        # trains a critic after the generator, and sample() can be asked with
        # and without it.
        results = {"GANSampler (defaults: rejection sampling)": [],
                   "GANSampler, sample without rejection": []}
        if args.ablation:
            results["GANSampler (numeric_encoding='standard')"] = []
        for seed in seeds:
            X, modes, std = make(np.random.RandomState(seed))
            gan, elapsed = fit_skneural(X, seed, args.quick)
            drs = mode_scores(gan.sample(N_ROWS, random_state=seed), modes, std)
            gan.set_params(rejection_sampling=False)
            plain = mode_scores(gan.sample(N_ROWS, random_state=seed), modes, std)
            cpu = gan.cpu_seconds_
            results["GANSampler (defaults: rejection sampling)"].append((*drs, elapsed, cpu))
            results["GANSampler, sample without rejection"].append((*plain, elapsed, cpu))
            print(f"  {name} seed {seed}: defaults {drs[0]}/{len(modes)} modes, {drs[1]:.1%}"
                  f" high quality; without rejection {plain[0]}/{len(modes)}, {plain[1]:.1%}; "
                  f"fit {elapsed:.1f} s wall, {cpu:.1f} s CPU", flush=True)
            if args.ablation:
                gan, elapsed = fit_skneural(X, seed, args.quick, numeric_encoding="standard",
                                            rejection_sampling=False)
                std_scores = mode_scores(gan.sample(N_ROWS, random_state=seed), modes, std)
                results["GANSampler (numeric_encoding='standard')"].append(
                    (*std_scores, elapsed, gan.cpu_seconds_))
                print(f"    standard encoding: {std_scores[0]}/{len(modes)}, "
                      f"{std_scores[1]:.1%}, {elapsed:.1f} s", flush=True)
        for method, r in results.items():
            rows.append((name, method, len(modes), np.array(r)))
        if args.ctgan:
            results = []
            for seed in seeds:
                X, modes, std = make(np.random.RandomState(seed))
                samples, elapsed = run_ctgan(X, seed, args.quick)
                covered, quality = mode_scores(samples, modes, std)
                results.append((covered, quality, elapsed, np.nan))
                print(f"  {name:5s} ctgan seed {seed}: {covered}/{len(modes)}, {quality:.1%}",
                      flush=True)
            rows.append((name, "ctgan.CTGAN (300 epochs)", len(modes), np.array(results)))

    print()
    print("| data | method | modes covered (mean) | worst seed | high quality (mean) "
          "| worst seed | fit wall time (s) | fit CPU time (s) |")
    print("|---|---|---|---|---|---|---|---|")
    for name, method, n_modes, r in rows:
        print(f"| {name} | {method} | {r[:, 0].mean():.1f}/{n_modes} | {int(r[:, 0].min())} "
              f"| {r[:, 1].mean():.1%} | {r[:, 1].min():.1%} | {r[:, 2].mean():.1f} "
              f"| {r[:, 3].mean():.1f} |")


if __name__ == "__main__":
    main()
