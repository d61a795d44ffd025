"""Peak memory of a fit on 1M x 100 float32 rows, relative to the data's size.

Each contender runs in a fresh subprocess that makes the data, notes its
resident memory, fits for one epoch and reports the growth of its peak
resident memory (``ru_maxrss``) over that baseline.

    python benchmarks/bench_memory.py [--rows 1000000]
"""

import argparse
import json
import subprocess
import sys

CHILD = r"""
import json, resource, sys, warnings
import numpy as np, torch
warnings.simplefilter("ignore")
rows, contender = int(sys.argv[1]), sys.argv[2]
import sklearn.neural_network, skneural  # imported before the baseline: code is not data
rng = np.random.default_rng(0)
X = rng.standard_normal((rows, 100), dtype=np.float32)
y = (X[:, 0] > 0).astype(np.int64)
def rss_mb():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS"):
                return int(line.split()[1]) / 1024
base = rss_mb()
if contender == "skneural":
    from skneural import MLPClassifier
    MLPClassifier((64,), max_iter=1, batch_size=1000, random_state=0).fit(X, y)
elif contender == "skneural early_stopping":
    from skneural import MLPClassifier
    MLPClassifier((64,), max_iter=1, batch_size=1000, early_stopping=True, random_state=0).fit(X, y)
elif contender == "sklearn":
    from sklearn.neural_network import MLPClassifier
    MLPClassifier((64,), max_iter=1, batch_size=1000, random_state=0).fit(X, y)
else:
    net = torch.nn.Sequential(torch.nn.Linear(100, 64), torch.nn.ReLU(), torch.nn.Linear(64, 2))
    opt = torch.optim.Adam(net.parameters(), 1e-3)
    Xt, yt = torch.from_numpy(X), torch.from_numpy(y)
    perm = torch.randperm(rows)
    for i in range(0, rows, 1000):
        idx = perm[i:i + 1000]
        opt.zero_grad()
        torch.nn.functional.cross_entropy(net(Xt[idx]), yt[idx]).backward()
        opt.step()
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"data_mb": X.nbytes / 2**20, "base_mb": base, "peak_mb": peak}))
"""


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    args = parser.parse_args()
    print("| contender | data MB | RSS before fit MB | peak RSS MB | peak / data | growth / data |")
    print("|---|---|---|---|---|---|")
    for contender in ["bare torch", "skneural", "skneural early_stopping", "sklearn"]:
        out = subprocess.run([sys.executable, "-c", CHILD, str(args.rows), contender],
                             capture_output=True, text=True, check=True).stdout
        r = json.loads(out.strip().splitlines()[-1])
        print(f"| {contender} | {r['data_mb']:.0f} | {r['base_mb']:.0f} | {r['peak_mb']:.0f} | "
              f"{r['peak_mb'] / r['data_mb']:.2f} | "
              f"{(r['peak_mb'] - r['base_mb']) / r['data_mb']:.2f} |")


if __name__ == "__main__":
    main()
