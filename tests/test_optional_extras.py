"""skneural imports and fits without each optional extra of pyproject.toml.

Each extra (``pip install skneural[progress|pandas|plot|dask|skops]``) is
blocked in a fresh interpreter before ``import skneural``: every finder on
``sys.meta_path`` is wrapped to find nothing of it, so ``import name`` raises
ModuleNotFoundError and ``importlib.util.find_spec(name)`` is None, as on an
install without that package. (Setting
``sys.modules[name] = None`` instead would break scikit-learn itself, which
looks pandas up in ``sys.modules`` and expects a module or nothing there.)
Every public estimator must then fit and predict (or sample).
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

# extra of pyproject.toml -> the top-level packages it installs (with their submodules)
EXTRAS = {
    "pandas": ["pandas"],
    "plot": ["matplotlib"],
    "progress": ["tqdm"],
    "dask": ["dask", "distributed"],
    "skops": ["skops"],
}

SCRIPT = r"""
import contextlib, io, sys, warnings

extra, blocked = sys.argv[1], sys.argv[2].split(",")


class Hidden:  # finds what ``finder`` does, except the blocked packages

    def __init__(self, finder):
        self.finder = finder

    def find_spec(self, fullname, path=None, target=None):
        if fullname.split(".")[0] in blocked or not hasattr(self.finder, "find_spec"):
            return None
        return self.finder.find_spec(fullname, path, target)

    def __getattr__(self, name):
        return getattr(self.finder, name)


sys.meta_path[:] = [Hidden(finder) for finder in sys.meta_path]

import numpy as np
import skneural
from _estimators import FACTORIES, data, fit

warnings.simplefilter("ignore")
names = {"ConvNetClassifier", "GANSampler", "LSTMSequenceClassifier", "MLPClassifier",
         "MLPRegressor", "MixtureDensityRegressor"}
assert names <= set(skneural.__all__) and names == set(FACTORIES), sorted(FACTORIES)
fitted = {}
for name in sorted(names):
    X, y = data(name, n=20)
    est = fitted[name] = fit(name, X, y, max_iter=2)
    if name == "GANSampler":
        assert est.sample(5).shape == (5, X.shape[1]), name
    else:
        assert est.predict(X).shape == (20,), name

if extra == "progress":  # verbose=True prints plain lines instead of a tqdm bar
    X, y = data("MLPClassifier", n=20)
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        fit("MLPClassifier", X, y, max_iter=2, verbose=True)
    assert "Iteration 1," in printed.getvalue() and "Iteration 2," in printed.getvalue(), (
        printed.getvalue())

if extra == "plot":  # plotting imports, and says what to install when it draws
    from skneural.plotting import plot_learning_curve
    try:
        plot_learning_curve(fitted["MLPClassifier"])
    except ImportError as exc:
        assert "pip install" in str(exc) and "skneural[plot]" in str(exc), exc
    else:
        raise AssertionError("plot_learning_curve drew without matplotlib")

assert not any(name.split(".")[0] in blocked for name in sys.modules), "an extra was imported"
print("OK")
"""


@pytest.mark.parametrize("extra", sorted(EXTRAS))
def test_fits_without_extra(extra):
    env = {**os.environ, "OMP_NUM_THREADS": "1",
           "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "tests")])}
    proc = subprocess.run([sys.executable, "-c", SCRIPT, extra, ",".join(EXTRAS[extra])],
                          capture_output=True, text=True, timeout=300, cwd=ROOT, env=env)
    assert proc.returncode == 0 and proc.stdout.strip().endswith("OK"), (
        f"without skneural[{extra}] ({', '.join(EXTRAS[extra])}):\n{proc.stderr[-3000:]}")
