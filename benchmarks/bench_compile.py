"""Would an opt-in ``compile=True`` (torch.compile) pay for itself? (issue 20)

The ConvNet defaults' network and a plain LSTM(64), each trained by the bare
loop of ``bench_bare.py`` (fused Adam, fixed epochs) eagerly and through
``torch.compile`` (inductor, default mode), compile time included: one fit,
then ``--folds`` fits of fresh networks in the same process, as a 5-fold CV
would run them (the later fits reuse torch's compiled-code caches). Each
scenario runs in a fresh process so that no cache from another one helps.

    python benchmarks/bench_compile.py
"""

import argparse
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))

CHILD = r"""
import json, sys, time, warnings
warnings.filterwarnings("ignore")
sys.path.insert(0, {here!r})
import torch, torch.nn.functional as F
from bench_bare import BareConvNet, BareLSTM, bare_loop, convnet_data, lstm_data
torch.set_num_threads(1)
kind, compiled, folds, epochs = {kind!r}, {compiled!r}, {folds!r}, {epochs!r}
if kind == "convnet":
    X, y = convnet_data()
    make = lambda: BareConvNet(True)
    batch = 64
else:
    X, y, _ = lstm_data()
    make = lambda: BareLSTM(X.shape[2], 64, int(y.max()) + 1)
    batch = 64
X, y = torch.from_numpy(X), torch.from_numpy(y).long()
times = []
for fold in range(folds):
    torch.manual_seed(fold)
    start = time.perf_counter()
    net = make()
    model = torch.compile(net) if compiled else net
    bare_loop(model, F.cross_entropy, X, y, epochs, batch)
    times.append(time.perf_counter() - start)
print(json.dumps(times))
"""


def run(kind, compiled, folds, epochs):
    code = CHILD.format(here=HERE, kind=kind, compiled=compiled, folds=folds, epochs=epochs)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--conv-epochs", type=int, default=20)
    parser.add_argument("--lstm-epochs", type=int, default=3)
    args = parser.parse_args()
    import torch

    print(f"torch {torch.__version__}, {os.cpu_count()} cores, 1 thread, load average "
          f"{os.getloadavg()[0]:.1f}\n")
    print("| network | eager: first fit s | compiled: first fit s | eager: "
          f"{args.folds} fits s | compiled: {args.folds} fits s | compiled / eager, "
          f"{args.folds} fits |")
    print("|---|---|---|---|---|---|")
    for kind, epochs in (("convnet", args.conv_epochs), ("lstm", args.lstm_epochs)):
        eager = run(kind, False, args.folds, epochs)
        try:
            compiled = run(kind, True, args.folds, epochs)
        except subprocess.CalledProcessError as exc:
            print(f"| {kind} | {eager[0]:.2f} | failed: {exc.stderr.strip().splitlines()[-1]} |")
            continue
        print(f"| {kind}, {epochs} epochs | {eager[0]:.2f} | {compiled[0]:.2f} | "
              f"{sum(eager):.2f} | {sum(compiled):.2f} | {sum(compiled) / sum(eager):.2f}x |",
              flush=True)


if __name__ == "__main__":
    main()
