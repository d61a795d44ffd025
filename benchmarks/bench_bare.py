"""Each tuned configuration against a bare PyTorch loop of the same network (issue 20).

Every row trains the same network on the same float32 tensors for the same
number of epochs, batch size and optimizer (Adam, lr 1e-3, torch's
defaults), one after the other in this process, ``--repeats`` times in
alternating order; the table gives the median fit times and their ratio
(skneural / bare: below 1 is faster than the bare loop). The bare loops are
written plainly: tensors in memory, ``randperm`` batches, ``zero_grad``,
forward, loss, ``backward``, fused Adam (``torch.optim.Adam(fused=True)``).
Regularizers that have no counterpart in the bare loop are off
(``alpha=0``), as is early stopping; both use ``--threads`` torch threads.

    python benchmarks/bench_bare.py                  # every configuration, 3 repeats
    python benchmarks/bench_bare.py --only mlp       # the MLP rows
    python benchmarks/bench_bare.py --cold           # also: first fit in a fresh process

Configurations (issue 20's list): MLP 64-256-256-10 plain, with dropout
0.2, with batch norm, with both, with layer norm; a plain LSTM(64) on
100-step sequences, equal and variable lengths (packed); the MDN's
network (tanh 32-32, 5 Gaussian components) with Adam; the ConvNet
defaults' network with and without its augmentation (both written plainly
in the bare loop); GANSampler's own generator and discriminator (packing
and spectral norm are part of the networks) on rows its encoder made, in a
plain loop, against GANSampler without the work the bare loop lacks
(averaging, step-size decay, calibration, critic) and at its defaults.
"""

import argparse
import os
import platform
import subprocess
import sys
import time
import warnings

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

warnings.filterwarnings("ignore")

LR = 1e-3


def adam(params):
    return torch.optim.Adam(params, lr=LR, fused=True)


def bare_loop(net, loss_fn, X, y, epochs, batch, lengths=None):
    """The plain loop every bare row shares; returns the trained ``net``."""
    opt = adam(net.parameters())
    net.train()
    for _ in range(epochs):
        perm = torch.randperm(len(X))
        for i in range(0, len(X), batch):
            idx = perm[i:i + batch]
            opt.zero_grad(set_to_none=True)
            out = net(X[idx]) if lengths is None else net(X[idx], lengths[idx])
            loss_fn(out, y[idx]).backward()
            opt.step()
    return net


# ---------------------------------------------------------------- MLP
MLP_CONFIGS = {
    "MLP plain": {},
    "MLP dropout 0.2": {"dropout": 0.2},
    "MLP batch norm": {"batch_norm": True},
    "MLP batch norm + dropout 0.2": {"batch_norm": True, "dropout": 0.2},
    "MLP layer norm": {"normalization": "layer"},
}


def mlp_data(n=20000, n_features=64, n_classes=10, seed=0):
    from sklearn.datasets import make_classification

    X, y = make_classification(n_samples=n, n_features=n_features, n_informative=16,
                               n_classes=n_classes, random_state=seed)
    X = ((X - X.mean(0)) / X.std(0)).astype(np.float32)
    return X, y


def bare_mlp(X, y, hidden, epochs, batch, dropout=0.0, batch_norm=False, normalization=None):
    torch.manual_seed(0)
    layers, n_in = [], X.shape[1]
    for width in hidden:
        layers.append(nn.Linear(n_in, width))
        if batch_norm:
            layers.append(nn.BatchNorm1d(width))
        elif normalization == "layer":
            layers.append(nn.LayerNorm(width))
        layers.append(nn.ReLU())
        if dropout:
            layers.append(nn.Dropout(dropout))
        n_in = width
    net = nn.Sequential(*layers, nn.Linear(n_in, int(y.max()) + 1))
    return bare_loop(net, F.cross_entropy, torch.from_numpy(X), torch.from_numpy(y).long(),
                     epochs, batch)


def ours_mlp(X, y, hidden, epochs, batch, threads, **params):
    from skneural import MLPClassifier

    return MLPClassifier(hidden, batch_size=batch, max_iter=epochs, tol=0, alpha=0.0,
                         n_iter_no_change=10**9, random_state=0, n_threads=threads,
                         **params).fit(X, y)


# ---------------------------------------------------------------- LSTM
def lstm_data(n=2000, steps=100, n_features=3, n_classes=4, variable=False, seed=0):
    rng = np.random.RandomState(seed)
    y = rng.randint(n_classes, size=n)
    t = np.linspace(0, 1, steps)
    X = (np.sin(2 * np.pi * (y[:, None] + 1) * t)[:, :, None]
         + 0.5 * rng.randn(n, steps, n_features)).astype(np.float32)
    lengths = rng.randint(steps // 2, steps + 1, size=n) if variable else np.full(n, steps)
    for i, length in enumerate(lengths):
        X[i, length:] = 0.0  # padding (the bare loop packs it away)
    return X, y, lengths


class BareLSTM(nn.Module):
    def __init__(self, n_features, hidden, n_classes):
        super().__init__()
        self.lstm = nn.LSTM(n_features, hidden, batch_first=True)
        self.out = nn.Linear(hidden, n_classes)

    def forward(self, x, lengths=None):
        if lengths is None:  # equal lengths: no packing
            _, (h, _) = self.lstm(x)
        else:
            packed = nn.utils.rnn.pack_padded_sequence(x, lengths, batch_first=True,
                                                       enforce_sorted=False)
            _, (h, _) = self.lstm(packed)
        return self.out(h[-1])


def bare_lstm(X, y, lengths, hidden, epochs, batch):
    torch.manual_seed(0)
    variable = lengths.min() < lengths.max()
    net = BareLSTM(X.shape[2], hidden, int(y.max()) + 1)
    Xt = torch.from_numpy(X)
    return bare_loop(net, F.cross_entropy, Xt, torch.from_numpy(y).long(), epochs, batch,
                     torch.from_numpy(lengths) if variable else None)


def ours_lstm(X, y, lengths, hidden, epochs, batch, threads):
    from skneural import LSTMSequenceClassifier

    if lengths.min() < lengths.max():  # variable lengths reach skneural as a list
        X = [x[:length] for x, length in zip(X, lengths)]
    return LSTMSequenceClassifier(
        hidden_size=hidden, conv_channels=None, summary="last", standardize=None,
        learning_rate="constant", clip_grad_norm=None, alpha=0.0, batch_size=batch,
        max_iter=epochs, tol=0, n_iter_no_change=10**9, random_state=0,
        n_threads=threads).fit(X, y)


# ---------------------------------------------------------------- MDN
def mdn_data(n=20000, seed=0):
    rng = np.random.RandomState(seed)
    x = rng.uniform(-1, 1, (n, 1)).astype(np.float32)
    y = np.sin(3 * x[:, 0]) + 0.3 * rng.randn(n) * (1 + x[:, 0] ** 2)
    return x, y.astype(np.float32)


class BareMDN(nn.Module):
    def __init__(self, n_in, hidden, k, min_std=1e-3):
        super().__init__()
        layers = []
        for width in hidden:
            layers += [nn.Linear(n_in, width), nn.Tanh()]
            n_in = width
        self.body = nn.Sequential(*layers)
        self.head = nn.Linear(n_in, 3 * k)
        self.k, self.min_std = k, min_std

    def forward(self, x):
        logits, mu, raw = self.head(self.body(x)).split(self.k, dim=1)
        return logits, mu, raw.exp() + self.min_std


def mdn_nll(out, y):
    logits, mu, std = out
    log_prob = (-0.5 * ((y[:, None] - mu) / std) ** 2 - std.log()
                - 0.5 * np.log(2 * np.pi) + F.log_softmax(logits, dim=1))
    return -torch.logsumexp(log_prob, dim=1).mean()


def bare_mdn(X, y, hidden, epochs, batch):
    torch.manual_seed(0)
    return bare_loop(BareMDN(X.shape[1], hidden, 5), mdn_nll, torch.from_numpy(X),
                     torch.from_numpy(y), epochs, batch)


def ours_mdn(X, y, hidden, epochs, batch, threads):
    from skneural import MixtureDensityRegressor

    return MixtureDensityRegressor(hidden_layer_sizes=hidden, n_components=5, solver="adam",
                                   alpha=0.0, batch_size=batch, max_iter=epochs, tol=0,
                                   n_iter_no_change=10**9, random_state=0,
                                   n_threads=threads).fit(X, y)


# ---------------------------------------------------------------- ConvNet
def convnet_data():
    from sklearn.datasets import load_digits

    digits = load_digits()
    X = (digits.images / 16.0).astype(np.float32)[:, None]  # (1797, 1, 8, 8)
    return X, digits.target


def bare_augment(x, shift=1, rotation=10.0, scale=0.1):
    """The defaults' augmentation written plainly: a random affine map per image."""
    n, size = x.shape[0], x.shape[-1]
    angle = (torch.rand(n) * 2 - 1) * np.radians(rotation)
    zoom = 1 + (torch.rand(n) * 2 - 1) * scale
    offset = torch.randint(-shift, shift + 1, (2, n)).float() * 2 / size
    cos, sin = torch.cos(angle) / zoom, torch.sin(angle) / zoom
    theta = torch.stack([torch.stack([cos, -sin, offset[0]], 1),
                         torch.stack([sin, cos, offset[1]], 1)], 1)
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False)


class BareConvNet(nn.Module):
    """ConvNetClassifier's default network: 2 x (conv 3x3 -> BN -> ReLU -> max pool 2),
    flatten, 128 ReLU units with dropout 0.3, 10 logits."""

    def __init__(self, augment=True):
        super().__init__()
        self.augment = augment
        self.net = nn.Sequential(
            nn.Conv2d(1, 32, 3, padding="same", bias=False), nn.BatchNorm2d(32), nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(32, 64, 3, padding="same", bias=False), nn.BatchNorm2d(64), nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Flatten(), nn.Linear(64 * 2 * 2, 128), nn.ReLU(), nn.Dropout(0.3),
            nn.Linear(128, 10))

    def forward(self, x):
        return self.net(bare_augment(x) if self.augment and self.training else x)


def bare_convnet(X, y, epochs, batch, augment=True):
    torch.manual_seed(0)
    return bare_loop(BareConvNet(augment), F.cross_entropy, torch.from_numpy(X),
                     torch.from_numpy(y).long(), epochs, batch)


def ours_convnet(X, y, epochs, batch, threads, augment=True):
    from skneural import ConvNetClassifier

    off = {} if augment else {"shift": 0, "rotation": 0.0, "scale": 0.0}
    return ConvNetClassifier(learning_rate="constant", learning_rate_init=LR, alpha=0.0,
                             batch_size=batch, max_iter=epochs, tol=0, n_iter_no_change=10**9,
                             random_state=0, n_threads=threads, **off).fit(X, y)


# ---------------------------------------------------------------- GAN
#: GANSampler's defaults with the work a bare loop does not do switched off: the
#: generator average, the linear step-size decay, the marginal calibration and
#: the rejection critic (the "defaults" row keeps them, against the same bare loop)
GAN_SAME_WORK = {"generator_averaging": None, "learning_rate": "constant",
                 "marginal_calibration": False, "rejection_sampling": False}


def gan_data(n=2000, seed=0):
    from sklearn.datasets import make_classification

    X, y = make_classification(n_samples=n, n_features=8, n_informative=5, random_state=seed)
    X[:, 6] = np.digitize(X[:, 6], [-1, 0, 1])  # two categorical columns
    X[:, 7] = np.digitize(X[:, 7], [0])
    return X, y


def ours_gan(X, epochs, threads, same_work=True):
    from skneural import GANSampler

    return GANSampler(categorical_features=[6, 7], max_iter=epochs, random_state=0,
                      n_threads=threads, **(GAN_SAME_WORK if same_work else {})).fit(X)


def bare_gan(X, epochs, threads, template):
    """Fresh copies of GANSampler's generator and discriminator (``template``, a fitted
    sampler, gives their sizes), trained by a plain loop on the rows encoded by
    GANSampler's encoder (fitted here too: the same mixture fits as ctgan's):
    one discriminator step and one generator step per batch, non-saturating loss."""
    from skneural._gan.encoder import TabularEncoder

    torch.manual_seed(0)
    encoder = TabularEncoder(template.categorical_features_, "auto",
                             np.random.RandomState(0)).fit(X, None)
    data = torch.as_tensor(encoder.encode(X, np.float64), dtype=torch.float32)
    module = template._build_module(*template._module_args)
    G, D = module.generator, module.discriminator
    betas = (template.beta_1, template.beta_2)
    opt_g = torch.optim.Adam(G.parameters(), lr=LR, betas=betas, fused=True)
    opt_d = torch.optim.Adam(D.parameters(), lr=LR, betas=betas, fused=True)
    batch = template.batch_size_
    n_steps = epochs * -(-len(X) // batch)
    G.train(), D.train()
    for _ in range(n_steps):
        real = data[torch.randint(len(data), (batch,))]
        with torch.no_grad():
            fake = G(torch.randn(batch, G.latent_dim))
        loss_d = F.softplus(-D(real)).mean() + F.softplus(D(fake)).mean()
        opt_d.zero_grad(set_to_none=True)
        loss_d.backward()
        opt_d.step()
        loss_g = F.softplus(-D(G(torch.randn(batch, G.latent_dim)))).mean()
        opt_g.zero_grad(set_to_none=True)
        loss_g.backward()
        opt_g.step()
    return module


# ---------------------------------------------------------------- runs
def median_times(contenders, repeats):
    """{name: median seconds}; the order alternates between repeats."""
    times = {name: [] for name in contenders}
    names = list(contenders)
    for r in range(repeats):
        for name in (names if r % 2 == 0 else names[::-1]):
            start = time.perf_counter()
            contenders[name]()
            times[name].append(time.perf_counter() - start)
    return {name: float(np.median(t)) for name, t in times.items()}


def configurations(args):
    rows = []
    if "mlp" in args.only:
        Xm, ym = mlp_data()
        for label, params in MLP_CONFIGS.items():
            rows.append((label, f"{len(ym)} rows, 64-256-256-10, batch 200, {args.epochs} epochs",
                         lambda p=params: bare_mlp(Xm, ym, (256, 256), args.epochs, 200, **p),
                         lambda p=params: ours_mlp(Xm, ym, (256, 256), args.epochs, 200,
                                                   args.threads, **p)))
    if "lstm" in args.only:
        for variable in (False, True):
            X, y, lengths = lstm_data(variable=variable)
            label = "LSTM(64), " + ("variable lengths 50-100" if variable else "equal lengths 100")
            rows.append((label, f"{len(y)} sequences x 100 steps x 3, batch 64, "
                                f"{args.lstm_epochs} epochs",
                         lambda X=X, y=y, L=lengths: bare_lstm(X, y, L, 64, args.lstm_epochs, 64),
                         lambda X=X, y=y, L=lengths: ours_lstm(X, y, L, 64, args.lstm_epochs, 64,
                                                               args.threads)))
    if "mdn" in args.only:
        Xd, yd = mdn_data()
        rows.append(("MDN tanh 32-32, 5 components, Adam",
                     f"{len(yd)} rows, batch 200, {args.epochs} epochs",
                     lambda: bare_mdn(Xd, yd, (32, 32), args.epochs, 200),
                     lambda: ours_mdn(Xd, yd, (32, 32), args.epochs, 200, args.threads)))
    if "convnet" in args.only:
        Xc, yc = convnet_data()
        for augment in (True, False):
            label = "ConvNet defaults' network" + (", with its augmentation" if augment
                                                   else ", no augmentation")
            rows.append((label, f"digits {len(yc)} x 8x8, batch 64, {args.conv_epochs} epochs",
                         lambda a=augment: bare_convnet(Xc, yc, args.conv_epochs, 64, a),
                         lambda a=augment: ours_convnet(Xc, yc, args.conv_epochs, 64,
                                                        args.threads, a)))
    if "gan" in args.only:
        Xg, _ = gan_data()
        template = ours_gan(Xg, 1, args.threads)
        budget = f"{len(Xg)} rows x 8 (2 categorical), batch 256, {args.gan_epochs} epochs"
        for same_work in (True, False):
            label = ("GANSampler, same work (no averaging, calibration, critic)" if same_work
                     else "GANSampler defaults (averaging, calibration, critic)")
            rows.append((label, budget,
                         lambda: bare_gan(Xg, args.gan_epochs, args.threads, template),
                         lambda w=same_work: ours_gan(Xg, args.gan_epochs, args.threads, w)))
    return rows


COLD = """
import time, numpy as np
t0 = time.perf_counter()
from skneural import MLPClassifier
X = np.random.RandomState(0).randn(2000, 64).astype(np.float32); y = (X[:, 0] > 0).astype(int)
fit = lambda: MLPClassifier((256, 256), batch_norm=True, dropout=0.2, max_iter=5, tol=0,
                            n_iter_no_change=10**9, random_state=0, n_threads=1).fit(X, y)
t1 = time.perf_counter(); fit(); t2 = time.perf_counter(); fit(); t3 = time.perf_counter()
print(t1 - t0, t2 - t1, t3 - t2)
"""


def cold_start(repeats):
    """(import s, first fit s, second fit s) medians over fresh processes."""
    out = []
    for _ in range(repeats):
        done = subprocess.run([sys.executable, "-c", COLD], capture_output=True, text=True,
                              check=True, env={**os.environ, "PYTHONWARNINGS": "ignore"})
        out.append([float(v) for v in done.stdout.split()])
    return np.median(np.array(out), axis=0)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="+", default=["mlp", "lstm", "mdn", "convnet", "gan"],
                        choices=["mlp", "lstm", "mdn", "convnet", "gan"])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=5, help="MLP and MDN epochs")
    parser.add_argument("--lstm-epochs", type=int, default=3)
    parser.add_argument("--conv-epochs", type=int, default=5)
    parser.add_argument("--gan-epochs", type=int, default=30)
    parser.add_argument("--threads", type=int, default=1, help="torch threads for both")
    parser.add_argument("--cold", action="store_true",
                        help="also time the first fit in fresh processes")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, {platform.processor() or platform.machine()}, "
          f"{os.cpu_count()} cores, {args.threads} thread(s), load average "
          f"{os.getloadavg()[0]:.1f}", flush=True)
    print("\n| configuration | data and budget | bare loop s | skneural s | ratio |")
    print("|---|---|---|---|---|")
    for label, budget, bare, ours in configurations(args):
        bare(), ours()  # warm both paths (imports, allocator, oneDNN kernels)
        t = median_times({"bare": bare, "ours": ours}, args.repeats)
        print(f"| {label} | {budget} | {t['bare']:.2f} | {t['ours']:.2f} "
              f"| {t['ours'] / t['bare']:.2f}x |", flush=True)
    if args.cold:
        imp, first, second = cold_start(args.repeats)
        print(f"\nFresh process (MLP 256-256 BN + dropout, 2,000 rows, 5 epochs; median of "
              f"{args.repeats}): import {imp:.2f} s, first fit {first:.2f} s, second fit "
              f"{second:.2f} s: first / warm {first / second:.2f}x")
    print(f"\nload average after: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
