"""skneural among the PyData tools: persistence, Dask, pandas output, logging."""

import inspect
import logging
import multiprocessing
import pathlib
import pickle
import re

import joblib
import numpy as np
import pytest
import sklearn
import torch
from sklearn.datasets import load_digits
from sklearn.model_selection import GridSearchCV, cross_validate
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from _estimators import FACTORIES, data, fit
import skneural
import skneural.plotting
import skneural.utils
from skneural import TRUSTED_TYPES, GANSampler, MLPClassifier

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
PACKAGE = pathlib.Path(__file__).resolve().parents[1] / "skneural"


def outputs(est, X):
    """What a user gets back from ``est``: samples, probabilities, predictions, densities."""
    if isinstance(est, GANSampler):
        return [est.sample(7, random_state=0)]
    out = [est.predict(X)]
    for method in ("predict_proba", "predict_mixture"):
        if hasattr(est, method):
            result = getattr(est, method)(X)
            out.extend(result if isinstance(result, tuple) else [result])
    return out


def assert_same_outputs(a, b, X):
    for left, right in zip(outputs(a, X), outputs(b, X), strict=True):
        np.testing.assert_array_equal(np.asarray(left), np.asarray(right))


def torch_objects(obj, path="state"):
    """Paths of every torch object inside nested dicts, lists and tuples."""
    if isinstance(obj, dict):
        return [p for key, value in obj.items() for p in torch_objects(value, f"{path}[{key!r}]")]
    if isinstance(obj, (list, tuple)):
        return [p for i, value in enumerate(obj) for p in torch_objects(value, f"{path}[{i}]")]
    return [path] if type(obj).__module__.split(".")[0] == "torch" else []


# ------------------------------------------------------------------ persistence
@pytest.mark.parametrize("name", list(FACTORIES))
def test_saved_state_holds_no_torch_objects(name):
    X, y = data(name)
    est = fit(name, X, y)
    assert torch_objects(est.__getstate__()) == []
    assert isinstance(est.module_, torch.nn.Module)  # saving leaves the estimator alone


@pytest.mark.parametrize("name", list(FACTORIES))
def test_skops_round_trip_trusting_only_skneural_types(name, tmp_path):
    sio = pytest.importorskip("skops.io")
    X, y = data(name)
    est = fit(name, X, y)
    path = tmp_path / "model.skops"
    sio.dump(est, path)
    untrusted = sio.get_untrusted_types(file=path)
    assert set(untrusted) <= set(TRUSTED_TYPES), untrusted
    with pytest.raises(sio.exceptions.UntrustedTypesFoundException):
        sio.load(path)
    loaded = sio.load(path, trusted=TRUSTED_TYPES)
    assert_same_outputs(est, loaded, X)


def test_skops_round_trip_of_a_dataframe_gan_with_categories():
    sio = pytest.importorskip("skops.io")
    pd = pytest.importorskip("pandas")
    rng = np.random.RandomState(0)
    frame = pd.DataFrame({"size": rng.normal(size=60),
                          "colour": pd.Categorical(rng.choice(["red", "blue"], 60)),
                          "count": rng.randint(0, 4, 60)})
    gan = FACTORIES["GANSampler"]().fit(frame, rng.choice(["a", "b"], 60))
    loaded = sio.loads(sio.dumps(gan), trusted=TRUSTED_TYPES)
    expected = gan.sample(9, y="a", random_state=0)
    got = loaded.sample(9, y="a", random_state=0)
    pd.testing.assert_frame_equal(got, expected)
    assert got["colour"].dtype == frame["colour"].dtype


@pytest.mark.parametrize("name", list(FACTORIES))
def test_joblib_round_trip_and_a_gpu_fit_loads_on_cpu(name, tmp_path):
    X, y = data(name)
    est = fit(name, X, y)
    joblib.dump(est, tmp_path / "model.joblib")
    assert_same_outputs(est, joblib.load(tmp_path / "model.joblib"), X)
    # stand-in for a fit on a GPU: the saved weights are arrays, and loading
    # on a machine without the device predicts on the CPU
    est.device_ = "cuda:0"
    loaded = pickle.loads(pickle.dumps(est))
    assert next(loaded.module_.parameters()).device.type == "cpu"
    if not torch.cuda.is_available():
        assert loaded._inference_device().type == "cpu"
        est.device_ = "cpu"
        assert_same_outputs(est, loaded, X)


@pytest.mark.parametrize("name", ["MLPClassifier", "MLPRegressor", "ConvNetClassifier",
                                  "LSTMSequenceClassifier", "MixtureDensityRegressor"])
def test_partial_fit_continues_identically_after_loading(name):
    """The optimizer's state (Adam's moments) is saved too: nothing is lost."""
    X, y = data(name)
    est = fit(name, X, y)
    loaded = pickle.loads(pickle.dumps(est))
    est.partial_fit(X, y)
    loaded.partial_fit(X, y)
    assert_same_outputs(est, loaded, X)


def test_changed_architecture_is_a_clear_error_on_loading():
    X, y = data("MLPClassifier")
    est = fit("MLPClassifier", X, y)
    est.set_params(hidden_layer_sizes=(3, 3))
    with pytest.raises(ValueError, match="set_params after fitting"):
        pickle.loads(pickle.dumps(est))


def test_library_never_unpickles_or_loads_torch_files_unsafely():
    source = "\n".join(p.read_text() for p in PACKAGE.rglob("*.py"))
    assert not re.search(r"\bpickle\.loads?\(|\bjoblib\.load\(|\bdill\.", source)
    for call in re.findall(r"torch\.load\([^)]*\)", source):
        assert "weights_only=True" in call, call


# ------------------------------------------------------------------------- Dask
def test_grid_search_on_a_dask_cluster_equals_one_process():
    distributed = pytest.importorskip("distributed")
    X, y = load_digits(return_X_y=True)
    X, y = X[:360], y[:360]
    pipe = make_pipeline(StandardScaler(), MLPClassifier(hidden_layer_sizes=(16,), max_iter=15,
                                                         n_threads=1, random_state=0))
    grid = {"mlpclassifier__alpha": [1e-4, 1e-1], "mlpclassifier__dropout": [0.0, 0.2]}
    local = GridSearchCV(pipe, grid, cv=3).fit(X, y)
    local_cv = cross_validate(pipe, X, y, cv=3)

    def threads_inside_a_fit():
        # runs in a worker thread of a worker process, as GridSearchCV's fits do
        import skneural._core.base as base

        seen, original = [], base.train_stochastic

        def spy(*args, **kwargs):
            seen.append(torch.get_num_threads())
            return original(*args, **kwargs)

        base.train_stochastic = spy
        try:
            MLPClassifier(hidden_layer_sizes=(4,), max_iter=1).fit(X[:50], y[:50])
        finally:
            base.train_stochastic = original
        return seen[0]

    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster, \
            distributed.Client(cluster) as client:
        with joblib.parallel_backend("dask"):
            remote = GridSearchCV(pipe, grid, cv=3, n_jobs=-1).fit(X, y)
            remote_cv = cross_validate(pipe, X, y, cv=3, n_jobs=-1)
        worker_threads = client.submit(threads_inside_a_fit, pure=False).result()
        n_workers = len(client.scheduler_info()["workers"])
    assert n_workers == 2
    for key in ("mean_test_score", "std_test_score", "rank_test_score"):
        np.testing.assert_array_equal(remote.cv_results_[key], local.cv_results_[key])
    assert remote.best_params_ == local.best_params_
    np.testing.assert_array_equal(remote_cv["test_score"], local_cv["test_score"])
    assert worker_threads == 1  # 2 workers x 1 thread each on 2 cores: no oversubscription
    assert multiprocessing.active_children() == []  # the cluster left nothing running


# --------------------------------------------------------------- pandas output
def test_pipeline_with_pandas_output_keeps_feature_names():
    pytest.importorskip("pandas")
    X, y = load_digits(return_X_y=True, as_frame=True)
    X, y = X.iloc[:200], y.iloc[:200]
    pipe = make_pipeline(StandardScaler(), MLPClassifier(hidden_layer_sizes=(8,), max_iter=5,
                                                         random_state=0))
    pipe.set_output(transform="pandas").fit(X, y)
    assert list(pipe[-1].feature_names_in_) == list(X.columns)
    plain = make_pipeline(StandardScaler(), MLPClassifier(hidden_layer_sizes=(8,), max_iter=5,
                                                          random_state=0)).fit(X.to_numpy(), y)
    np.testing.assert_array_equal(pipe.predict_proba(X), plain.predict_proba(X.to_numpy()))
    with pytest.warns(UserWarning, match="feature names"):
        pipe[-1].predict(X.to_numpy())


def test_gan_sample_follows_set_output_and_the_global_config():
    pd = pytest.importorskip("pandas")
    X = np.random.RandomState(0).normal(size=(40, 3))
    gan = FACTORIES["GANSampler"]().fit(X)
    assert isinstance(gan.sample(4), np.ndarray)
    with sklearn.config_context(transform_output="pandas"):
        frame = gan.sample(4, random_state=0)
    assert isinstance(frame, pd.DataFrame) and list(frame.columns) == ["x0", "x1", "x2"]
    np.testing.assert_array_equal(frame.to_numpy(), gan.sample(4, random_state=0))
    assert isinstance(gan.set_output(transform="pandas").sample(2), pd.DataFrame)
    assert isinstance(gan.set_output(transform="default").sample(2), np.ndarray)
    with pytest.raises(ValueError, match="transform must be"):
        gan.set_output(transform="arrow")
    named = FACTORIES["GANSampler"]().fit(pd.DataFrame(X, columns=["a", "b", "c"]))
    assert list(named.get_feature_names_out()) == ["a", "b", "c"]


# ------------------------------------------------------------ progress, logging
@pytest.mark.parametrize("name", list(FACTORIES))
def test_epochs_reach_the_skneural_logger_when_enabled(name, caplog):
    X, y = data(name)
    with caplog.at_level(logging.INFO, logger="skneural"):
        est = fit(name, X, y, max_iter=2)
    records = [r.getMessage() for r in caplog.records if r.name == "skneural"]
    assert len(records) == est.n_iter_ == 2
    assert records[-1].startswith(f"{type(est).__name__} epoch 2/2: ")
    assert "loss" in records[-1]
    caplog.clear()
    fit(name, X, y, max_iter=2)  # the logger's default level (WARNING) keeps fits quiet
    assert not [r for r in caplog.records if r.name == "skneural"]


def test_verbose_bar_shows_epochs_metrics_and_eta(capsys):
    X, y = data("MLPClassifier", n=80)
    FACTORIES["MLPClassifier"](max_iter=4, verbose=True, early_stopping=True,
                               validation_fraction=0.25).fit(X, y)
    err = capsys.readouterr().err
    assert "MLPClassifier" in err and "epoch" in err and "4/4" in err
    assert "loss=" in err and "val_score=" in err and "<" in err  # tqdm's elapsed<remaining


# ----------------------------------------------------------------------- typing
def public_api():
    """(name, function) for every public function, method and property of the package."""
    for module in (skneural, skneural.plotting, skneural.utils):
        for name in module.__all__:
            obj = getattr(module, name)
            if inspect.isclass(obj):
                for attr, member in inspect.getmembers(obj):
                    member = member.fget if isinstance(member, property) else member
                    if attr.startswith("_") or not callable(member) \
                            or not getattr(member, "__module__", "").startswith("skneural"):
                        continue
                    yield f"{name}.{attr}", member
            elif callable(obj):
                yield f"{module.__name__}.{name}", obj


def test_package_is_typed_and_public_api_annotated():
    assert (PACKAGE / "py.typed").is_file()
    missing, checked = [], 0
    for name, func in public_api():
        hints = inspect.get_annotations(func)
        params = [p.name for p in inspect.signature(func).parameters.values()
                  if p.name != "self" and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]
        absent = [p for p in params + ["return"] if p not in hints]
        if absent:
            missing.append(f"{name}: {absent}")
        checked += 1
    assert missing == []
    assert checked > 30  # fit/predict/... of six estimators, plotting and utils
