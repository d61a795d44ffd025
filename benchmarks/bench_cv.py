"""The used-by scenario: 5-fold CV of a StandardScaler + MLP pipeline with early stopping.

skneural's MLPClassifier, sklearn's MLPClassifier and skorch's
NeuralNetClassifier (with its EarlyStopping callback and a 10% validation
split, the closest equivalent) on sklearn's digits, same network (64-100-10
ReLU, Adam, lr 1e-3, batch 200, patience 10), in one run.

    python benchmarks/bench_cv.py [--repeats 3]
"""

import argparse
import time
import warnings

import numpy as np
import torch
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import StratifiedKFold, cross_val_score
from sklearn.neural_network import MLPClassifier as SkMLP
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler

from skneural import MLPClassifier

warnings.filterwarnings("ignore", category=ConvergenceWarning)


def skorch_pipeline():
    from skorch import NeuralNetClassifier
    from skorch.callbacks import EarlyStopping
    from skorch.dataset import ValidSplit

    module = torch.nn.Sequential(torch.nn.Linear(64, 100), torch.nn.ReLU(),
                                 torch.nn.Linear(100, 10))
    net = NeuralNetClassifier(module, max_epochs=200, batch_size=200, lr=1e-3,
                              optimizer=torch.optim.Adam, criterion=torch.nn.CrossEntropyLoss,
                              train_split=ValidSplit(10, stratified=True),
                              callbacks=[EarlyStopping(patience=10, monitor="valid_acc",
                                                       lower_is_better=False,
                                                       load_best=True)],
                              verbose=0, iterator_train__shuffle=True)
    to32 = FunctionTransformer(lambda X: X.astype(np.float32))
    return make_pipeline(StandardScaler(), to32, net)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    X, y = load_digits(return_X_y=True)
    cv = StratifiedKFold(5, shuffle=True, random_state=0)
    settings = dict(hidden_layer_sizes=(100,), early_stopping=True, n_iter_no_change=10,
                    random_state=0)
    contenders = {
        "skneural": lambda: make_pipeline(StandardScaler(), MLPClassifier(**settings)),
        "skneural + batch_norm + dropout 0.2": lambda: make_pipeline(
            StandardScaler(), MLPClassifier(batch_norm=True, dropout=0.2, **settings)),
        "sklearn": lambda: make_pipeline(StandardScaler(), SkMLP(**settings)),
    }
    try:
        import skorch  # noqa: F401
        contenders["skorch + EarlyStopping"] = skorch_pipeline
    except ImportError:
        pass
    times = {name: [] for name in contenders}
    scores = {}
    for _ in range(args.repeats):
        for name, make in contenders.items():
            start = time.perf_counter()
            scores[name] = cross_val_score(make(), X, y.astype(np.int64), cv=cv)
            times[name].append(time.perf_counter() - start)
    base = np.median(times["sklearn"])
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, median of "
          f"{args.repeats} runs\n")
    print("| pipeline (5-fold CV on digits, early stopping) | CV accuracy | 5 folds (s) | time / sklearn |")
    print("|---|---|---|---|")
    for name in contenders:
        t = np.median(times[name])
        print(f"| {name} | {scores[name].mean():.4f} | {t:.2f} | {t / base:.2f} |")


if __name__ == "__main__":
    main()
