"""skneural keeps working when a private scikit-learn or torch helper goes away.

scikit-learn and torch do not promise that their underscore-prefixed helpers
stay put. ``skneural._core.validation`` (sklearn) and ``skneural._core.compat``
(torch) are the only modules touching them, and each falls back to a local
equivalent. The sklearn checks run in a subprocess that removes the helpers
from their modules *before* ``import skneural``, then fits the estimators and
compares their results with a run where nothing was removed.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from skneural._core import compat

ROOT = Path(__file__).resolve().parents[1]

# Run with the helper named by argv[1] removed ("none": nothing removed), after
# importing the sklearn modules named in argv[2] (so sklearn itself, which
# imports the helper too, is already loaded). Prints the results as JSON.
SCRIPT = r"""
import importlib, json, sys, warnings
import numpy as np

target, preload = sys.argv[1], json.loads(sys.argv[2])
for name in preload:
    importlib.import_module(name)
for name in target.split(",") if target != "none" else []:
    module, attr = name.rsplit(".", 1)
    delattr(importlib.import_module(module), attr)

import skneural
from sklearn.exceptions import ConvergenceWarning

try:
    import pandas as pd
except ImportError:
    pd = None


def raises(fn, *words):
    try:
        fn()
    except ValueError as exc:
        assert all(w in str(exc) for w in words), exc
    else:
        raise AssertionError(f"no ValueError mentioning {words}")


rng = np.random.RandomState(0)
X = rng.normal(size=(40, 4))
y = (X[:, 0] > 0).astype(int)
small = dict(hidden_layer_sizes=(8,), max_iter=5, n_threads=1, random_state=0)
out = {}

# _fit_context and the _parameter_constraints classes
clf = skneural.MLPClassifier(solver="adam", **small).fit(X, y)
assert clf.predict(X).shape == (40,)
out["adam"] = clf.predict_proba(X).tolist()
for bad in (dict(max_iter=-1), dict(solver="nope"), dict(alpha=-1.0),
            dict(n_iter_no_change=2.5), dict(batch_size="big")):
    raises(lambda: skneural.MLPClassifier(**{**small, **bad}).fit(X, y), list(bad)[0])

# _check_optimize_result: lbfgs stopped by max_iter reports n_iter_ and warns
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    reg = skneural.MLPRegressor(solver="lbfgs", **small).fit(X, X[:, 0])
assert 1 <= reg.n_iter_ <= 5, reg.n_iter_
assert any(issubclass(w.category, ConvergenceWarning) and "lbfgs" in str(w.message)
           for w in caught), [str(w.message) for w in caught]
out["lbfgs"] = [reg.n_iter_, reg.predict(X).tolist()]

# _check_partial_fit_first_call
pf = skneural.MLPClassifier(solver="sgd", **small)
raises(lambda: pf.partial_fit(X, y), "classes")
pf.partial_fit(X, y, classes=[0, 1]).partial_fit(X, y)
assert list(pf.classes_) == [0, 1] and pf.predict(X).shape == (40,)
raises(lambda: pf.partial_fit(X, y, classes=[0, 1, 2]), "classes")
out["partial_fit"] = pf.predict_proba(X).tolist()

# _check_sample_weight
w = rng.uniform(0.5, 2.0, size=40)
sw = skneural.MLPClassifier(solver="adam", **small).fit(X, y, sample_weight=w)
assert sw.predict(X).shape == (40,)
out["sample_weight"] = sw.predict_proba(X).tolist()
raises(lambda: skneural.MLPClassifier(**small).fit(X, y, sample_weight=np.ones(39)), "39")
raises(lambda: skneural.MLPClassifier(**small).fit(X, y, sample_weight=np.ones((40, 2))))

# _check_feature_names_in and _wrap_data_with_container (GANSampler.sample)
gan_kw = dict(generator_hidden_layer_sizes=(8,), discriminator_hidden_layer_sizes=(8,),
              latent_dim=2, batch_size=16, max_iter=2, n_threads=1, random_state=0)
gan = skneural.GANSampler(**gan_kw).fit(X)
assert list(gan.get_feature_names_out()) == ["x0", "x1", "x2", "x3"]
assert list(gan.get_feature_names_out(["x0", "x1", "x2", "x3"])) == ["x0", "x1", "x2", "x3"]
raises(lambda: gan.get_feature_names_out(["a"]), "input_features")
sample = gan.sample(5, random_state=0)
assert isinstance(sample, np.ndarray) and sample.shape == (5, 4)
out["gan"] = sample.tolist()
if pd is not None:
    gan.set_output(transform="pandas")
    frame = gan.sample(5, random_state=0)
    assert isinstance(frame, pd.DataFrame) and list(frame.columns) == ["x0", "x1", "x2", "x3"]
    out["gan_pandas"] = frame.to_numpy().tolist()
    gan.set_output(transform="default")
    assert isinstance(gan.sample(5, random_state=0), np.ndarray)
    named = skneural.GANSampler(**gan_kw).fit(pd.DataFrame(X, columns=list("abcd")))
    assert list(named.get_feature_names_out()) == list("abcd")
    raises(lambda: named.get_feature_names_out(list("abce")), "feature_names_in_")

out["modules"] = sorted(name for name in sys.modules if name.startswith("sklearn"))
print("RESULT", json.dumps(out))
"""

PRIVATE_HELPERS = [
    "sklearn.base._fit_context",
    "sklearn.utils.optimize._check_optimize_result",
    "sklearn.utils.multiclass._check_partial_fit_first_call",
    "sklearn.utils.validation._check_sample_weight",
    "sklearn.utils.validation._check_feature_names_in",
    "sklearn.utils._set_output._wrap_data_with_container",
    # one import brings the four, so losing any one of them takes the same fallback
    *(f"sklearn.utils._param_validation.{name}"
      for name in ("Interval", "InvalidParameterError", "Options", "StrOptions")),
]
# Every fallback is independent of the others, so one subprocess without all of
# the helpers checks them together (a subprocess costs 7-10 s of the suite);
# a failure names the helpers, and _run(name) reproduces one alone.
PRIVATE = [",".join(PRIVATE_HELPERS)]


def _run(target, preload=()):
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1",
           "PYTHONWARNINGS": "ignore::DeprecationWarning"}
    proc = subprocess.run([sys.executable, "-c", SCRIPT, target, json.dumps(list(preload))],
                          capture_output=True, text=True, timeout=300, cwd=ROOT, env=env)
    assert proc.returncode == 0, f"without {target}:\n{proc.stderr[-3000:]}"
    line = next(line for line in proc.stdout.splitlines() if line.startswith("RESULT "))
    return json.loads(line[len("RESULT "):])


@pytest.fixture(scope="module")
def reference():
    """The results with every helper present, and the sklearn modules that run loaded."""
    return _run("none")


@pytest.mark.parametrize("target", PRIVATE)
def test_fits_without_private_sklearn_helper(target, reference):
    results = _run(target, preload=reference["modules"])
    for key, expected in reference.items():
        if key != "modules":
            assert results[key] == expected, f"{key} differs without {target}"


# ------------------------------------------------------------------ torch


def _tensors():
    gen = torch.Generator().manual_seed(0)
    return [torch.randn(3, 4, generator=gen), torch.randn(5, generator=gen, dtype=torch.float64),
            torch.randn(2, 2, 2, generator=gen)]


def _raise_type_error(*args, **kwargs):
    raise TypeError("changed signature")


@pytest.fixture(params=["present", "missing", "raises"])
def private(request, monkeypatch):
    """Run a test with torch's private foreach functions as they are, deleted, or broken."""
    names = ["_foreach_norm", "_foreach_add_", "_foreach_sub_", "_foreach_lerp_"]
    for name in names:
        if request.param == "missing":
            monkeypatch.delattr(torch, name)
        elif request.param == "raises":
            monkeypatch.setattr(torch, name, _raise_type_error)
    return request.param


def test_foreach_norm(private):
    tensors = _tensors()
    expected = [torch.linalg.vector_norm(t) for t in tensors]
    got = compat.foreach_norm(tensors)
    assert isinstance(got, list) and len(got) == len(tensors)
    for g, e in zip(got, expected):
        assert g.dim() == 0 and g.dtype == e.dtype
        torch.testing.assert_close(g, e)
    assert compat.foreach_norm([]) == []


def test_foreach_norm_matches_private_function(monkeypatch):
    tensors = _tensors()
    expected = torch._foreach_norm(tensors)
    for breakage in ("delete", "raise"):
        with monkeypatch.context() as m:
            if breakage == "delete":
                m.delattr(torch, "_foreach_norm")
            else:
                m.setattr(torch, "_foreach_norm", _raise_type_error)
            got = compat.foreach_norm(tensors)
        for g, e in zip(got, expected):
            torch.testing.assert_close(g, e)


def test_foreach_lerp(private):
    """The generator average's update: each tensor moved towards its end by ``weight``."""
    tensors = _tensors()
    ends = [torch.randn_like(t) for t in tensors]
    expected = [t.clone().lerp_(e, 0.25) for t, e in zip(tensors, ends)]
    assert compat.foreach_lerp_(tensors, ends, 0.25) is None
    for t, e in zip(tensors, expected):
        torch.testing.assert_close(t, e, rtol=0, atol=0)
    compat.foreach_lerp_([], [], 0.5)


def test_foreach_add_and_sub(private):
    tensors = _tensors()
    others = [torch.full_like(t, 0.5) * (i + 1) for i, t in enumerate(tensors)]
    originals = [t.clone() for t in tensors]

    assert compat.foreach_add_(tensors, others, alpha=2.5) is None
    for t, o, orig in zip(tensors, others, originals):
        torch.testing.assert_close(t, orig + 2.5 * o)
    compat.foreach_sub_(tensors, others, alpha=2.5)
    for t, orig in zip(tensors, originals):
        torch.testing.assert_close(t, orig)

    compat.foreach_add_(tensors, 1)
    for t, orig in zip(tensors, originals):
        torch.testing.assert_close(t, orig + 1)
    compat.foreach_sub_(tensors, [1, 2, 3], alpha=0.5)
    for t, orig, k in zip(tensors, originals, [1, 2, 3]):
        torch.testing.assert_close(t, orig + 1 - 0.5 * k)
    compat.foreach_add_(tensors, [1, 2, 3], alpha=0.5)
    compat.foreach_sub_(tensors, torch.tensor(1.0))
    compat.foreach_add_(tensors, others)
    compat.foreach_sub_(tensors, others)
    for t, orig in zip(tensors, originals):
        torch.testing.assert_close(t, orig)


def test_foreach_add_matches_private_function(monkeypatch):
    # as the engine uses it: weight decay into gradients, Adam's step counters
    grads, params = _tensors(), [t * 3 for t in _tensors()]
    steps = [torch.tensor(4.0), torch.tensor(7.0)]
    expected_grads = [g.clone() for g in grads]
    expected_steps = [s.clone() for s in steps]
    torch._foreach_add_(expected_grads, params, alpha=0.01)
    torch._foreach_add_(expected_steps, 1)
    for breakage in ("delete", "raise"):
        got_grads, got_steps = [g.clone() for g in grads], [s.clone() for s in steps]
        with monkeypatch.context() as m:
            for name in ("_foreach_add_", "_foreach_sub_"):
                if breakage == "delete":
                    m.delattr(torch, name)
                else:
                    m.setattr(torch, name, _raise_type_error)
            compat.foreach_add_(got_grads, params, alpha=0.01)
            compat.foreach_add_(got_steps, 1)
            for g, e in zip(got_grads, expected_grads):
                torch.testing.assert_close(g, e)
            for s, e in zip(got_steps, expected_steps):
                torch.testing.assert_close(s, e)
            compat.foreach_sub_(got_steps, 1)
            for s, e in zip(got_steps, steps):
                torch.testing.assert_close(s, e)


def test_fused_adam_kernel(monkeypatch):
    assert compat.fused_adam_kernel() is getattr(torch, "_fused_adam_", None)
    monkeypatch.delattr(torch, "_fused_adam_", raising=False)
    assert compat.fused_adam_kernel() is None


def test_fits_the_same_without_torchs_private_functions(monkeypatch):
    """With every private torch function unavailable to ``compat``, fits are unchanged.

    (torch.optim itself calls ``torch._foreach_*``, so they are hidden from
    ``compat`` rather than deleted from torch.)
    """
    import numpy as np

    from skneural import MLPClassifier

    rng = np.random.RandomState(0)
    X = rng.normal(size=(120, 4))
    y = (X[:, 0] > 0).astype(int)
    kw = dict(hidden_layer_sizes=(8,), max_iter=5, alpha=0.01, random_state=0)
    fits = lambda: [MLPClassifier(**kw).fit(X, y).predict_proba(X),  # noqa: E731
                    MLPClassifier(dropconnect=0.2, **kw).fit(X, y).predict_proba(X)]
    with_private = fits()
    monkeypatch.setattr(compat, "_private", lambda name: None)
    monkeypatch.setattr(compat, "fused_adam_kernel", lambda: None)
    for a, b in zip(with_private, fits()):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-7)


def test_only_compat_touches_torchs_private_api():
    import ast

    root = Path(__file__).resolve().parents[1] / "skneural"
    offenders = []
    for path in root.rglob("*.py"):
        if path.name == "compat.py":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if (isinstance(node, ast.Attribute) and node.attr.startswith("_")
                    and not node.attr.startswith("__")
                    and isinstance(node.value, ast.Name) and node.value.id == "torch"):
                offenders.append(f"{path.relative_to(root)}:{node.lineno} torch.{node.attr}")
    assert not offenders, offenders
