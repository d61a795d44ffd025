"""The package's layout: imports run families -> core, and models saved before the move load."""

import ast
import importlib
import pathlib
import pickle

import numpy as np
import pytest

import skneural
from legacy.write_files import outputs, saved_inputs
from skneural import TRUSTED_TYPES

LEGACY = pathlib.Path(__file__).resolve().parent / "legacy"
SAVED = sorted(path.stem for path in LEGACY.glob("*.pkl"))


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
        if name.startswith("LSTM") and loaded.batch_size == "auto":
            # issue 19 changed the LSTM's "auto" batch rule to FCN's; this pickle resumed
            # with the old min(200, n)
            loaded.set_params(batch_size=min(200, len(saved_inputs(name)[1])))
        loaded.partial_fit(*saved_inputs(name))
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


# ------------------------------------------------------------- import direction
PACKAGE = pathlib.Path(skneural.__file__).resolve().parent
FAMILIES = {"_mlp", "_convnet", "_lstm", "_mdn", "_gan"}
# who may import whom: a family imports the core and itself, the core only itself
ALLOWED = {"top": {"top", "_core", *FAMILIES}, "_core": {"_core"},
           **{family: {"_core", family} for family in FAMILIES}}


def owner(module):
    """The part of skneural a dotted module belongs to: ``"_core"``, a family, or ``"top"``."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[1] in ALLOWED else "top"


def module_name(path):
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def skneural_imports(source, module, is_package=False):
    """Every skneural module that ``source`` (the text of ``module``) imports, absolute."""
    package = module if is_package else module.rpartition(".")[0]
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[:len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([node.module] if node.module else []))
            # ``from . import x`` names a submodule x; ``from .m import x`` names m
            found += [f"{base}.{alias.name}" for alias in node.names] if not node.module \
                else [base]
    return [name for name in found if name.split(".")[0] == "skneural"]


def violations(modules):
    """``"a imports b"`` for each import of ``modules`` ({name: (source, is_package)})
    that runs against the direction families -> core."""
    return [f"{name} imports {target}"
            for name, (source, is_package) in sorted(modules.items())
            for target in skneural_imports(source, name, is_package)
            if owner(target) not in ALLOWED[owner(name)]]


def test_families_import_only_the_core_and_the_core_imports_no_family():
    modules = {module_name(path): (path.read_text(), path.name == "__init__.py")
               for path in PACKAGE.rglob("*.py")}
    assert {owner(name) for name in modules} == set(ALLOWED)  # every part exists
    assert violations(modules) == []


@pytest.mark.parametrize("module, source, expected", [
    ("skneural._mdn.estimator", "from .._mlp.estimator import _BaseMLP",
     ["skneural._mdn.estimator imports skneural._mlp.estimator"]),
    ("skneural._core.base", "from .._gan import training",
     ["skneural._core.base imports skneural._gan"]),
    ("skneural._core", "from .._lstm.modules import LSTMSequenceNet",  # its __init__.py
     ["skneural._core imports skneural._lstm.modules"]),
    ("skneural._gan.estimator", "import skneural._convnet.modules as m",
     ["skneural._gan.estimator imports skneural._convnet.modules"]),
    ("skneural._gan.estimator", "from . import modules\nfrom .._core.device import seeded", []),
    ("skneural._core.engine", "def f():\n    from skneural._mdn import density",
     ["skneural._core.engine imports skneural._mdn"]),
])
def test_the_direction_rule_catches_imports_against_it(module, source, expected):
    is_package = module.count(".") == 1 and module.endswith("_core")
    assert violations({module: (source, is_package)}) == expected


# the public names as they stood before the layout move (commit df02851)
PUBLIC = {
    "skneural": ["ConvNetClassifier", "GANSampler", "LSTMSequenceClassifier", "MLPClassifier",
                 "MLPRegressor", "MixtureDensityRegressor", "log_likelihood_scorer",
                 "TRUSTED_TYPES"],
    "skneural.plotting": ["plot_conditional_density", "plot_gradient_norms",
                          "plot_learning_curve", "plot_samples"],
    "skneural.utils": ["check_gradient", "input_jacobian", "numerical_gradient"],
}


@pytest.mark.parametrize("module", list(PUBLIC))
def test_public_api_imports_from_where_it_always_has(module):
    imported = importlib.import_module(module)
    assert sorted(imported.__all__) == sorted(PUBLIC[module])
    for name in PUBLIC[module]:
        assert getattr(imported, name) is not None


def test_trusted_types_name_importable_classes_old_paths_included():
    for dotted in TRUSTED_TYPES:
        module, _, name = dotted.rpartition(".")
        assert isinstance(getattr(importlib.import_module(module), name), type), dotted
    old = {"skneural._mlp.MLPClassifier", "skneural._gan_data.TabularEncoder"}
    assert old <= set(TRUSTED_TYPES)
