"""GANSampler quality on the ring of 8 Gaussians and the 5x5 grid (PacGAN's benchmark).

For each data set and seed: 2,500 training rows (``--rows N``: N), one fit,
2,500 generated rows. A generated row is *high quality* when it lies within 3 standard
deviations (Euclidean) of the nearest mode; a mode is *covered* when at
least 20 high-quality rows (of the 2,500) fall near it, the rule of the
VEEGAN and PacGAN papers.

    python benchmarks/bench_gan.py            # 5 seeds, both data sets
    python benchmarks/bench_gan.py --quick    # 1 seed, shorter fits
    python benchmarks/bench_gan.py --ctgan    # also the ctgan package, if importable
    python benchmarks/bench_gan.py --ablation # also numeric_encoding="standard"
    python benchmarks/bench_gan.py --rows 20000   # 20,000 training rows
    python benchmarks/bench_gan.py --small --seeds 3  # small tables, see below
    python benchmarks/bench_gan.py --param max_iter=300   # any GANSampler setting
    python benchmarks/bench_gan.py --tables --data-dir /tmp/gan_data   # real tables
    python benchmarks/bench_gan.py --augment --seeds 3   # class-by-class augmentation

``--tables`` compares the samplers on five real mixed-type tables (see
``_tables.py`` for the tables, the download and the scores) instead of the
2-D sets: per table and seed a 70/30 split stratified on the table's
target; each sampler is fit on the 70% and draws as many rows; detection
ROC AUC, marginal distances, dependence error, train-on-synthetic
test-on-real accuracy and fit CPU time. ``--methods`` picks the samplers
(GANSampler, and from a side venv the ``ctgan`` package's CTGAN and TVAE
and sdv's Gaussian copula); two reference lines come with them: the real
holdout rows and "independent columns" (each column of the 70% shuffled
on its own: right marginals, no dependence between columns).

``--augment`` uses conditional sampling, ``sample(n, y=...)``, to balance
ISLP's Default table (3.3% defaults) and compares the balanced accuracy of
two classifiers on real holdout rows with random oversampling, SMOTE-NC
and ``class_weight="balanced"`` (``_augment.py``).

``--small`` checks small tables (100, 200 and 500 rows; ``--sizes``): a 2-D
correlated Gaussian (means 5 and -3, standard deviations 2 and 0.5,
correlation 0.6) and a 3-column mixture of two Gaussian clusters (70/30).
GANSampler draws 2,000 rows per fit, compared with 2,000 fresh draws of
the true distribution: per-column errors of the mean and of the standard
deviation (in units of the true standard deviation), the energy distance
(unbiased, on columns scaled by the true standard deviations; 0 for equal
distributions) and a two-sample classifier's ROC AUC (a
HistGradientBoostingClassifier, 5-fold CV; 0.5: indistinguishable). The
"training rows" reference line scores the n training rows themselves, the
best a sampler that only knows them can be expected to do.

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

from skneural import GANSampler

from _params import parse_params

N_ROWS = 2500  # generated rows per fit (and training rows, unless --rows)
MIN_ROWS_PER_MODE = 20
SMALL_SIZES = (100, 200, 500)
N_SMALL_DRAWS = 2000


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


PARAMS = {}  # --param KEY=VALUE settings, applied to every GANSampler fit


def fit_skneural(X, seed, quick, **params):
    gan = GANSampler(random_state=seed, n_threads=1, **{**PARAMS, **params})
    if quick:
        gan.set_params(max_iter=100 if gan.max_iter == "auto" else max(1, gan.max_iter // 3))
    start, cpu = time.perf_counter(), time.process_time()
    gan.fit(X)
    gan.cpu_seconds_ = time.process_time() - cpu  # this process's CPU time: load-independent
    return gan, time.perf_counter() - start


def fit_ctgan(frame, seed, epochs, discrete_columns=()):
    """ctgan.CTGAN with its defaults but ``epochs``; returns (model, wall s, CPU s).

    ctgan encodes columns in joblib worker processes (``n_jobs=-1``) on
    tables over 500 rows; joblib's sequential backend keeps that work in this
    process, on one core like GANSampler, so that its CPU time is counted.
    """
    import joblib
    from ctgan import CTGAN

    np.random.seed(seed)
    torch.manual_seed(seed)
    model = CTGAN(epochs=epochs, enable_gpu=False)
    model.set_random_state(seed)
    start, cpu = time.perf_counter(), time.process_time()
    with joblib.parallel_config(backend="sequential"):
        model.fit(frame, discrete_columns=list(discrete_columns))
    return model, time.perf_counter() - start, time.process_time() - cpu


def sample_ctgan(model, n):
    import joblib

    with joblib.parallel_config(backend="sequential"):
        return model.sample(n)


def run_ctgan(X, seed, epochs):
    import pandas as pd

    model, elapsed, cpu = fit_ctgan(pd.DataFrame(X, columns=["x", "y"]), seed, epochs)
    return sample_ctgan(model, N_ROWS).to_numpy(), elapsed, cpu


# ------------------------------------------------------------ small tables
def small_gauss(rng, n):
    """A 2-D correlated Gaussian: means (5, -3), std (2, 0.5), correlation 0.6."""
    mean, std, rho = np.array([5.0, -3.0]), np.array([2.0, 0.5]), 0.6
    chol = np.linalg.cholesky(np.array([[1.0, rho], [rho, 1.0]]))
    return mean + std * (rng.randn(n, 2) @ chol.T)


def small_mixture(rng, n):
    """Three columns, two Gaussian clusters (70% / 30%) with their own means and spreads."""
    centres = np.array([[0.0, 10.0, -2.0], [4.0, 14.0, 1.0]])
    spreads = np.array([[1.0, 0.5, 0.7], [0.6, 1.0, 0.4]])
    k = (rng.rand(n) < 0.3).astype(int)
    return centres[k] + spreads[k] * rng.randn(n, 3)


SMALL_TABLES = {"gauss": small_gauss, "mixture": small_mixture}


def energy_distance(A, B):
    """Unbiased energy distance ``2 E|a - b| - E|a - a'| - E|b - b'|`` (pairs a != a')."""
    from scipy.spatial.distance import pdist, cdist

    return float(2 * cdist(A, B).mean() - pdist(A).mean() - pdist(B).mean())


def c2st_auc(A, B, seed):
    """5-fold CV ROC AUC of a classifier telling rows ``A`` from rows ``B``."""
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.model_selection import StratifiedKFold, cross_val_score

    X, y = np.r_[A, B], np.r_[np.ones(len(A)), np.zeros(len(B))]
    cv = StratifiedKFold(5, shuffle=True, random_state=seed)
    clf = HistGradientBoostingClassifier(max_iter=50, random_state=seed)
    return float(cross_val_score(clf, X, y, cv=cv, scoring="roc_auc").mean())


def small_scores(S, truth, scale, seed):
    """(max |mean error|, max |std ratio - 1|, energy distance, C2ST AUC), in true-std units."""
    mean_err = np.abs(S.mean(axis=0) - truth.mean(axis=0)) / scale
    std_err = np.abs(S.std(axis=0) / truth.std(axis=0) - 1)
    return (float(mean_err.max()), float(std_err.max()),
            energy_distance(S / scale, truth / scale), c2st_auc(S, truth, seed))


def run_small(args):
    seeds = range(args.first_seed, args.first_seed + (1 if args.quick else args.seeds))
    sizes = [int(v) for v in args.sizes.split(",")]
    table = []
    for name, make in SMALL_TABLES.items():
        big = make(np.random.RandomState(12345), 200000)
        scale = big.std(axis=0)  # the true standard deviations (to 0.3%)
        for n in sizes:
            results = {"training rows (reference)": [], "GANSampler": []}
            for seed in seeds:
                rng = np.random.RandomState(seed)
                X, truth = make(rng, n), make(rng, N_SMALL_DRAWS)
                gan, elapsed = fit_skneural(X, seed, args.quick)
                S = gan.sample(N_SMALL_DRAWS, random_state=seed)
                for method, rows, t in (("training rows (reference)", X, (np.nan, np.nan)),
                                        ("GANSampler", S, (elapsed, gan.cpu_seconds_))):
                    scores = small_scores(rows, truth, scale, seed)
                    results[method].append((*scores, *t))
                print(f"  {name} n={n} seed {seed}: GANSampler mean "
                      f"{np.round(S.mean(axis=0), 2).tolist()} (truth "
                      f"{np.round(truth.mean(axis=0), 2).tolist()}), std "
                      f"{np.round(S.std(axis=0), 2).tolist()} (truth "
                      f"{np.round(truth.std(axis=0), 2).tolist()}); max |mean err| "
                      f"{results['GANSampler'][-1][0]:.3f} sd, max |std ratio-1| "
                      f"{results['GANSampler'][-1][1]:.3f}, energy "
                      f"{results['GANSampler'][-1][2]:.4f} (training rows "
                      f"{results['training rows (reference)'][-1][2]:.4f}), AUC "
                      f"{results['GANSampler'][-1][3]:.3f}; max_iter_ {gan.max_iter_}, "
                      f"batch {gan.batch_size_}; fit {elapsed:.1f} s wall, "
                      f"{gan.cpu_seconds_:.1f} s CPU", flush=True)
            for method, r in results.items():
                table.append((name, n, method, np.array(r)))
    print()
    print("| table | rows | method | max mean error (sd, mean; worst) | max std error "
          "(mean; worst) | energy distance (mean; worst) | classifier AUC (mean; worst) "
          "| fit wall s | fit CPU s |")
    print("|---|---|---|---|---|---|---|---|---|")
    for name, n, method, r in table:
        times = "| |" if np.isnan(r[0, -1]) else f"{r[:, -2].mean():.1f} | {r[:, -1].mean():.1f} |"
        print(f"| {name} | {n} | {method} | {r[:, 0].mean():.3f}; {r[:, 0].max():.3f} "
              f"| {r[:, 1].mean():.3f}; {r[:, 1].max():.3f} | {r[:, 2].mean():.4f}; "
              f"{r[:, 2].max():.4f} | {r[:, 3].mean():.3f}; {r[:, 3].max():.3f} | {times}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--seeds", type=int, default=5, help="number of seeds")
    parser.add_argument("--first-seed", type=int, default=0,
                        help="seeds run from here (e.g. 5 with --seeds 5: seeds 5 to 9)")
    parser.add_argument("--data", choices=["ring", "grid", "both"], default="both")
    parser.add_argument("--ctgan", action="store_true",
                        help="also run the ctgan package (pip install ctgan)")
    parser.add_argument("--ctgan-epochs", type=int, default=300,
                        help="ctgan's epochs (its default: 300)")
    parser.add_argument("--skip-gansampler", action="store_true",
                        help="2-D sets: run ctgan only")
    parser.add_argument("--tables", action="store_true",
                        help="real mixed-type tables instead of the 2-D sets (_tables.py)")
    parser.add_argument("--data-dir", default="/tmp/gan_data",
                        help="--tables: folder of the ISLP CSVs")
    parser.add_argument("--augment", action="store_true",
                        help="class-by-class augmentation of ISLP's Default table (_augment.py)")
    parser.add_argument("--only", nargs="+",
                        help="--tables: these tables only (also the dev table Hitters)")
    parser.add_argument("--methods", nargs="+", default=["GANSampler"],
                        choices=["GANSampler", "ctgan", "tvae", "copula"],
                        help="--tables: samplers to run (ctgan, tvae, copula: side venv)")
    parser.add_argument("--ablation", action="store_true",
                        help="also fit with numeric_encoding='standard'")
    parser.add_argument("--rows", type=int, default=N_ROWS,
                        help="2-D sets: training rows per fit (2,500 rows are generated)")
    parser.add_argument("--small", action="store_true",
                        help="small tables (100-500 rows) against their true distribution")
    parser.add_argument("--sizes", default=",".join(map(str, SMALL_SIZES)),
                        help="--small: comma-separated training sizes")
    parser.add_argument("--param", action="append", default=[], metavar="KEY=VALUE",
                        help="a GANSampler setting for every fit (a Python literal), "
                             "e.g. --param max_iter=300; repeatable")
    parser.add_argument("--auto-steps", type=int,
                        help="set GANSampler._AUTO_STEPS (max_iter='auto''s step budget)")
    args = parser.parse_args()
    torch.set_num_threads(1)
    PARAMS.update(parse_params(args.param))
    if args.auto_steps:
        GANSampler._AUTO_STEPS = args.auto_steps
    if PARAMS or args.auto_steps:
        print(f"GANSampler settings: {PARAMS}, _AUTO_STEPS={GANSampler._AUTO_STEPS}", flush=True)
    if args.small:
        return run_small(args)
    if args.augment:
        from _augment import run_augment

        return run_augment(args)
    if args.tables:
        from _tables import run_tables

        return run_tables(args, PARAMS)
    seeds = range(args.first_seed, args.first_seed + (1 if args.quick else args.seeds))
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
        for seed in seeds if not args.skip_gansampler else ():
            X, modes, std = make(np.random.RandomState(seed), n=args.rows)
            gan, elapsed = fit_skneural(X, seed, args.quick)
            drs = mode_scores(gan.sample(N_ROWS, random_state=seed), modes, std)
            gan.set_params(rejection_sampling=False)
            plain = mode_scores(gan.sample(N_ROWS, random_state=seed), modes, std)
            cpu = gan.cpu_seconds_
            results["GANSampler (defaults: rejection sampling)"].append((*drs, elapsed, cpu))
            results["GANSampler, sample without rejection"].append((*plain, elapsed, cpu))
            print(f"  {name} seed {seed}: defaults {drs[0]}/{len(modes)} modes, {drs[1]:.1%}"
                  f" high quality; without rejection {plain[0]}/{len(modes)}, {plain[1]:.1%}; "
                  f"fit {elapsed:.1f} s wall, {cpu:.1f} s CPU; {args.rows} rows, max_iter_ "
                  f"{gan.max_iter_} epochs x {-(-args.rows // gan.batch_size_)} steps", flush=True)
            if args.ablation:
                gan, elapsed = fit_skneural(X, seed, args.quick, numeric_encoding="standard",
                                            rejection_sampling=False)
                std_scores = mode_scores(gan.sample(N_ROWS, random_state=seed), modes, std)
                results["GANSampler (numeric_encoding='standard')"].append(
                    (*std_scores, elapsed, gan.cpu_seconds_))
                print(f"    standard encoding: {std_scores[0]}/{len(modes)}, "
                      f"{std_scores[1]:.1%}, {elapsed:.1f} s", flush=True)
        n_modes = len(make(np.random.RandomState(0))[1])
        for method, r in results.items():
            if r:
                rows.append((name, method, n_modes, np.array(r)))
        if args.ctgan:
            results = []
            for seed in seeds:
                X, modes, std = make(np.random.RandomState(seed), n=args.rows)
                samples, elapsed, cpu = run_ctgan(X, seed, args.ctgan_epochs)
                covered, quality = mode_scores(samples, modes, std)
                results.append((covered, quality, elapsed, cpu))
                print(f"  {name} ctgan seed {seed}: {covered}/{len(modes)} modes, "
                      f"{quality:.1%} high quality; fit {elapsed:.1f} s wall, {cpu:.1f} s CPU",
                      flush=True)
            rows.append((name, f"ctgan.CTGAN ({args.ctgan_epochs} epochs)", n_modes,
                         np.array(results)))

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
