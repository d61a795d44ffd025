"""Write the pickles and skops files that ``tests/test_layout.py`` loads.

The files in this folder were written by this script at commit df02851, the
last one before the modules moved into per-family subpackages (issue 17), so
they name the old module paths (``skneural._mlp.MLPClassifier``,
``skneural._gan_data.TabularEncoder``, ...). Loading them checks that models
saved by earlier releases still load. Re-running it today writes files with the
current paths, which tests nothing new: keep the committed ones.

    python tests/legacy/write_files.py
"""

import pathlib
import pickle
import sys
import warnings

import numpy as np

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from _estimators import FACTORIES, data, fit  # noqa: E402


def outputs(est, X):
    """Every array a user reads off ``est``, keyed by method."""
    if type(est).__name__ == "GANSampler":
        return {"sample": np.asarray(est.sample(7, random_state=0))}
    out = {"predict": np.asarray(est.predict(X))}
    if hasattr(est, "predict_proba"):
        out["predict_proba"] = est.predict_proba(X)
    if hasattr(est, "predict_mixture"):
        out.update(zip(("weights", "means", "stds"), est.predict_mixture(X)))
    return out


def gan_on_a_frame():
    """A conditional GAN on a DataFrame with a categorical column (pickles its encoder)."""
    import pandas as pd

    rng = np.random.RandomState(0)
    frame = pd.DataFrame({"size": rng.normal(size=60),
                          "colour": pd.Categorical(rng.choice(["red", "blue"], 60)),
                          "count": rng.randint(0, 4, 60)})
    return FACTORIES["GANSampler"]().fit(frame, rng.choice(["a", "b"], 60))


def main():
    import skops.io as sio

    warnings.simplefilter("ignore")
    models = {name: fit(name, *data(name)) for name in FACTORIES}
    models["GANSamplerFrame"] = gan_on_a_frame()
    for name, est in models.items():
        X, _ = data(name.removesuffix("Frame"))
        (HERE / f"{name}.pkl").write_bytes(pickle.dumps(est, protocol=4))
        sio.dump(est, HERE / f"{name}.skops")
        out = outputs(est, X)
        if name == "GANSamplerFrame":
            rows = est.sample(7, y="a", random_state=0)
            out = {f"sample_{col}": rows[col].to_numpy().astype(str if col == "colour" else float)
                   for col in rows.columns}
        if hasattr(est, "partial_fit"):  # one more step from the saved optimizer state
            resumed = pickle.loads(pickle.dumps(est, protocol=4))
            resumed.partial_fit(X, data(name)[1])
            out.update({f"resumed_{k}": v for k, v in outputs(resumed, X).items()})
        np.savez(HERE / f"{name}.npz", **{k: np.asarray(v) for k, v in out.items()})
        print(name, sorted(out))


if __name__ == "__main__":
    main()
