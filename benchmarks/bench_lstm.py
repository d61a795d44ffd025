"""LSTMSequenceClassifier on UCR/UEA time-series classification benchmarks.

Data: the small UCR/UEA data sets that ship inside the ``aeon`` wheel
(``pip install aeon``; the ``bench`` extra), read with
``aeon.datasets.load_classification`` on the archive's own train/test split:

- GunPoint, ItalyPowerDemand: univariate, equal length;
- BasicMotions: multivariate (6 channels), equal length;
- JapaneseVowels: multivariate (12 channels), variable length (7-29 steps).

aeon need not share an environment with torch: run this script once with
aeon's Python and ``--export DIR`` to write ``DIR/<name>.npz``, then with the
skneural environment and ``--data-dir DIR``. Without ``--data-dir`` the data
come from aeon directly.

Usage::

    /tmp/lstmdata/bin/python benchmarks/bench_lstm.py --export /tmp/lstm_data
    python benchmarks/bench_lstm.py --data-dir /tmp/lstm_data [--quick] [--seeds 0 1 2]
    python benchmarks/bench_lstm.py --data-dir /tmp/lstm_data --cv 3 --seeds 0 1 \
        --datasets JapaneseVowels --set hidden_size=8   # model selection, train split only

Prints one table row per data set and seed: test accuracy, fit time (one
torch thread) and epochs run. Reference accuracies are the published FCN /
LSTM-FCN / MLSTM-FCN figures quoted in notes/lstm.md.
"""

import argparse
import ast
import os
import time
import warnings

import numpy as np

DATASETS = {
    "GunPoint": "univariate",
    "ItalyPowerDemand": "univariate",
    "BasicMotions": "multivariate",
    "JapaneseVowels": "multivariate, variable length",
}

# LSTM-FCN's layout scaled to one CPU thread: an LSTM and FCN blocks with
# kernels 8-5-3 (narrower than the paper's 128-256-128) side by side on the
# input, the max of the LSTM outputs over valid steps next to the pooled conv
# features, MLSTM-FCN's squeeze-and-excitation (r=16) after the first two conv
# blocks, Adam with a cosine learning-rate schedule. One setting for every data
# set: the layout was chosen on GunPoint, the LSTM width, SE blocks and
# schedule by 3-fold CV on the JapaneseVowels training split (``--cv 3``; see
# notes/lstm.md for the runs behind it).
PARAMS = {"hidden_size": 32, "summary": "max", "conv_channels": (32, 64, 32), "conv_layout": "parallel",
          "conv_kernel_sizes": (8, 5, 3), "squeeze_excite": 16, "learning_rate": "cosine",
          "learning_rate_init": 0.003, "max_iter": 200, "n_iter_no_change": 200, "batch_size": 64,
          "n_threads": 1}


def export(data_dir):
    """Write each data set's train/test split to ``data_dir/<name>.npz`` (needs aeon)."""
    from aeon.datasets import load_classification

    os.makedirs(data_dir, exist_ok=True)
    for name in DATASETS:
        arrays = {}
        for split in ("train", "test"):
            X, y = load_classification(name, split=split)
            seqs = [np.asarray(x, dtype=np.float64).T for x in X]  # aeon stores (F, T)
            lengths = np.array([len(s) for s in seqs])
            padded = np.full((len(seqs), lengths.max(), seqs[0].shape[1]), np.nan)
            for row, s in zip(padded, seqs):
                row[:len(s)] = s
            arrays.update({f"X_{split}": padded, f"len_{split}": lengths,
                           f"y_{split}": np.asarray(y).astype(str)})
        np.savez(os.path.join(data_dir, f"{name}.npz"), **arrays)
        print(f"wrote {name}.npz")


def load(name, data_dir):
    """``(X_train, y_train, X_test, y_test)``; X a float32 3-D array or a list of (T_i, F)."""
    if data_dir is None:
        from aeon.datasets import load_classification

        out = []
        for split in ("train", "test"):
            X, y = load_classification(name, split=split)
            seqs = [np.asarray(x, dtype=np.float32).T for x in X]
            equal = len({len(s) for s in seqs}) == 1
            out += [np.stack(seqs) if equal else seqs, np.asarray(y).astype(str)]
        return tuple(out)
    data = np.load(os.path.join(data_dir, f"{name}.npz"))
    out = []
    for split in ("train", "test"):
        X, lengths = data[f"X_{split}"].astype(np.float32), data[f"len_{split}"]
        if not (lengths == X.shape[1]).all():
            X = [x[:n] for x, n in zip(X, lengths)]
        out += [X, data[f"y_{split}"]]
    return tuple(out)


def cross_validate(args, params, estimator):
    """Stratified K-fold accuracy and log loss on the training split; the test split is not read."""
    from sklearn.metrics import log_loss
    from sklearn.model_selection import StratifiedKFold

    print(f"params: {params}")
    print("| data set | seed | CV accuracy | CV log loss | fit s per fold |\n|---|---|---|---|---|")
    for name in args.datasets:
        X, y = load(name, args.data_dir)[:2]
        for seed in args.seeds:
            folds = StratifiedKFold(args.cv, shuffle=True, random_state=seed).split(np.zeros(len(y)), y)
            correct, losses, seconds = 0, 0.0, []
            for train, val in folds:
                clf = estimator(**params, random_state=seed)
                start = time.perf_counter()
                clf.fit(_take(X, train), y[train])
                seconds.append(time.perf_counter() - start)
                proba = clf.predict_proba(_take(X, val))
                correct += (clf.classes_[proba.argmax(axis=1)] == y[val]).sum()
                losses += log_loss(y[val], proba, labels=clf.classes_) * len(val)
            print(f"| {name} | {seed} | {correct / len(y):.4f} | {losses / len(y):.4f} | "
                  f"{np.mean(seconds):.1f} |", flush=True)


def _take(X, idx):
    return [X[i] for i in idx] if isinstance(X, list) else X[idx]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--export", metavar="DIR", default=None)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--datasets", nargs="+", default=list(DATASETS))
    parser.add_argument("--quick", action="store_true", help="20 epochs, for a smoke run")
    parser.add_argument("--cv", type=int, default=0, metavar="K",
                        help="score by stratified K-fold CV on the training split only (model selection)")
    parser.add_argument("--set", nargs="+", default=[], metavar="KEY=VALUE",
                        help="override PARAMS, values read as Python literals")
    args = parser.parse_args()
    if args.export:
        export(args.export)
        return

    import torch

    from skneural._lstm import LSTMSequenceClassifier

    torch.set_num_threads(1)
    warnings.filterwarnings("ignore", message="Stochastic Optimizer")
    warnings.filterwarnings("ignore", message="Got batch_size")
    params = dict(PARAMS, max_iter=20) if args.quick else dict(PARAMS)
    for item in args.set:
        key, value = item.split("=", 1)
        params[key] = ast.literal_eval(value)
    if args.cv:
        return cross_validate(args, params, LSTMSequenceClassifier)
    print("| data set | kind | n_train / n_test | seed | test accuracy | fit s | epochs |")
    print("|---|---|---|---|---|---|---|")
    summary = []
    for name in args.datasets:
        X_train, y_train, X_test, y_test = load(name, args.data_dir)
        scores = []
        for seed in args.seeds:
            clf = LSTMSequenceClassifier(**params, random_state=seed)
            start = time.perf_counter()
            clf.fit(X_train, y_train)
            seconds = time.perf_counter() - start
            scores.append(clf.score(X_test, y_test))
            print(f"| {name} | {DATASETS[name]} | {len(y_train)} / {len(y_test)} | {seed} | "
                  f"{scores[-1]:.4f} | {seconds:.1f} | {clf.n_iter_} |", flush=True)
        summary.append((name, np.mean(scores), np.std(scores), len(scores)))
    print("\n| data set | mean test accuracy | std | seeds |\n|---|---|---|---|")
    for name, mean, std, n in summary:
        print(f"| {name} | {mean:.4f} | {std:.4f} | {n} |")


if __name__ == "__main__":
    main()
