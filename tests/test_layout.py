"""The package's layout: models saved before the modules moved still load."""

import pathlib
import pickle

import numpy as np
import pytest

import skneural
from skneural import TRUSTED_TYPES

LEGACY = pathlib.Path(__file__).resolve().parent / "legacy"
SAVED = sorted(path.stem for path in LEGACY.glob("*.pkl"))


def legacy_inputs(name):
    """The rows the saved outputs were computed on (``write_files.py``)."""
    from _estimators import data

    return data(name.removesuffix("Frame"))


def outputs(est, name):
    X, _ = legacy_inputs(name)
    if name == "GANSamplerFrame":
        rows = est.sample(7, y="a", random_state=0)
        return {f"sample_{col}": rows[col].to_numpy().astype(str if col == "colour" else float)
                for col in rows.columns}
    if name == "GANSampler":
        return {"sample": np.asarray(est.sample(7, random_state=0))}
    out = {"predict": np.asarray(est.predict(X))}
    if hasattr(est, "predict_proba"):
        out["predict_proba"] = est.predict_proba(X)
    if hasattr(est, "predict_mixture"):
        out.update(zip(("weights", "means", "stds"), est.predict_mixture(X)))
    return out


def assert_matches_saved(est, name, prefix=""):
    saved = np.load(LEGACY / f"{name}.npz")
    expected = {key.removeprefix(prefix): saved[key] for key in saved.files
                if key.startswith(prefix) and (prefix or not key.startswith("resumed_"))}
    got = outputs(est, name)
    assert sorted(got) == sorted(expected)
    for key in expected:
        if expected[key].dtype.kind in "US":
            np.testing.assert_array_equal(got[key], expected[key])
        else:
            np.testing.assert_allclose(got[key], expected[key], rtol=1e-5, atol=1e-7)


def test_every_estimator_has_saved_files():
    names = {name.removesuffix("Frame") for name in SAVED}
    assert names == {cls for cls in skneural.__all__ if cls[0].isupper() and cls != "TRUSTED_TYPES"}
    for name in SAVED:
        assert (LEGACY / f"{name}.skops").exists() and (LEGACY / f"{name}.npz").exists()


@pytest.mark.parametrize("name", SAVED)
def test_pickle_written_before_the_move_loads_and_predicts_the_same(name):
    loaded = pickle.loads((LEGACY / f"{name}.pkl").read_bytes())
    assert type(loaded) is getattr(skneural, name.removesuffix("Frame"))
    assert_matches_saved(loaded, name)
    if hasattr(loaded, "partial_fit"):  # the optimizer's state came along too
        loaded.partial_fit(*legacy_inputs(name))
        assert_matches_saved(loaded, name, prefix="resumed_")


@pytest.mark.parametrize("name", SAVED)
def test_skops_file_written_before_the_move_loads_trusting_only_skneural_types(name):
    sio = pytest.importorskip("skops.io")
    path = LEGACY / f"{name}.skops"
    untrusted = sio.get_untrusted_types(file=path)
    assert untrusted and set(untrusted) <= set(TRUSTED_TYPES), untrusted
    loaded = sio.load(path, trusted=TRUSTED_TYPES)
    assert type(loaded) is getattr(skneural, name.removesuffix("Frame"))
    assert_matches_saved(loaded, name)
