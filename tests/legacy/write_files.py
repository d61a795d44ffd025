"""Write the pickles and skops files that ``tests/test_layout.py`` loads.

The files in this folder were written by this script as first committed
(d798a43), on the library of df02851, the last commit before the modules moved
into per-family subpackages (issue 17). So they name the old module paths
(``skneural._mlp.MLPClassifier``, ``skneural._gan_data.TabularEncoder``, ...),
and loading them checks that models saved by earlier releases still load.
Re-running it today writes files with the current paths, which tests nothing
new: keep the committed ones. (Re-run after the move, it wrote ``.npz``
outputs bitwise equal to the committed ones: the move changed no result.)

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


def saved_inputs(name):
    """The rows (and targets) the model saved as ``name`` was fitted and evaluated on."""
    return data(name.removesuffix("Frame"))


def outputs(est, name):
    """Every array a user reads off the model saved as ``name``, keyed by method."""
    X, _ = saved_inputs(name)
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
        (HERE / f"{name}.pkl").write_bytes(pickle.dumps(est, protocol=4))
        sio.dump(est, HERE / f"{name}.skops")
        out = outputs(est, name)
        if hasattr(est, "partial_fit"):  # one more step from the saved optimizer state
            resumed = pickle.loads(pickle.dumps(est, protocol=4))
            resumed.partial_fit(*saved_inputs(name))
            out.update({f"resumed_{k}": v for k, v in outputs(resumed, name).items()})
        np.savez(HERE / f"{name}.npz", **out)
        print(name, sorted(out))


if __name__ == "__main__":
    main()
