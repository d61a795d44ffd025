"""ONNX export: onnxruntime's outputs equal the estimator's own on rows the export never saw.

Every model is exported from a few sample rows and run by onnxruntime on
other rows, in batches of other sizes (and, for the LSTM, other lengths);
``predict`` and ``predict_proba`` are the oracle.
"""

import copy
import sys

import numpy as np
import pytest

from sklearn.exceptions import NotFittedError
from sklearn.neural_network import MLPClassifier as SklearnMLPClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skneural import (
    ConvNetClassifier,
    GANSampler,
    LSTMSequenceClassifier,
    MixtureDensityRegressor,
    MLPClassifier,
    MLPRegressor,
)
from skneural.export import onnx_inputs, register_skl2onnx, to_onnx

ort = pytest.importorskip("onnxruntime")
onnx = pytest.importorskip("onnx")

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

FAST = dict(max_iter=3, n_threads=1, random_state=0)
TOL = dict(rtol=1e-5, atol=1e-5)


def run(model, feeds):
    """onnxruntime's outputs of ``model`` for ``feeds``, by output name."""
    session = ort.InferenceSession(model.SerializeToString(),
                                   providers=["CPUExecutionProvider"])
    names = [output.name for output in session.get_outputs()]
    return dict(zip(names, session.run(None, feeds)))


def assert_classifier_exports(clf, X_sample, *held_out):
    """Exported from ``X_sample``, the graph gives ``predict``/``predict_proba`` on each batch."""
    model = to_onnx(clf, X_sample)
    for X in held_out:
        out = run(model, onnx_inputs(clf, X))
        np.testing.assert_allclose(out["probabilities"], clf.predict_proba(X), **TOL)
        np.testing.assert_array_equal(out["label"], clf.predict(X))
        if out["label"].dtype != object:  # onnxruntime returns strings as objects
            assert out["label"].dtype == clf.predict(X).dtype
    return model


@pytest.fixture(scope="module")
def tabular():
    rng = np.random.RandomState(0)
    X = rng.normal(size=(200, 5)) * [1.0, 10.0, 0.1, 1.0, 1.0] + 2.0
    return X[:60], X[60:]  # training rows, held-out rows


@pytest.fixture(scope="module")
def binary_mlp(tabular):
    X, _ = tabular
    y = np.where(X[:, 0] + X[:, 3] > 4.0, "yes", "no")
    return MLPClassifier(hidden_layer_sizes=(8,), **FAST).fit(X, y)


def test_binary_mlp_exports_its_string_labels_and_both_columns(binary_mlp, tabular, tmp_path):
    X, held_out = tabular
    # 1 and 20 rows take predict's numpy path, 140 its torch path
    assert_classifier_exports(binary_mlp, X[:3], held_out[:1], held_out[:20], held_out)
    path = tmp_path / "mlp.onnx"
    model = to_onnx(binary_mlp, X[:3], path=path, opset=17)
    assert model.opset_import[0].version == 17
    assert onnx.load(path) == model
    assert [i.name for i in model.graph.input] == ["X"]


def test_multiclass_mlp_with_batch_norm_dropout_and_swa_exports_in_eval_mode(tabular):
    X, held_out = tabular
    y = (X[:, 0] > 2.0).astype(int) + (X[:, 3] > 2.0) + (X[:, 4] > 3.0)
    clf = MLPClassifier(hidden_layer_sizes=(8, 6), batch_norm=True, dropout=0.3,
                        weight_averaging="swa", averaging_start=1, **FAST).fit(X, y)
    assert len(clf.classes_) == 4
    # in training mode batch norm and dropout would make the outputs differ
    assert_classifier_exports(clf, X[:2], held_out[:7], held_out)


def test_multilabel_mlp_exports_its_indicator_matrix(tabular):
    X, held_out = tabular
    Y = (X[:, [0, 3, 4]] > 2.0).astype(int)
    clf = MLPClassifier(hidden_layer_sizes=(8,), **FAST).fit(X, Y)
    model = assert_classifier_exports(clf, X[:3], held_out)
    assert run(model, onnx_inputs(clf, held_out))["label"].shape == (140, 3)


def test_float32_multi_output_regressor_exports_its_unscaled_targets(tabular):
    X, held_out = tabular
    X, held_out = X.astype(np.float32), held_out.astype(np.float32)
    Y = np.c_[50.0 + 10.0 * X[:, 0], X[:, 1] - X[:, 3]]
    reg = MLPRegressor(hidden_layer_sizes=(8,), **FAST).fit(X, Y)
    model = to_onnx(reg, X[:3])
    out = run(model, onnx_inputs(reg, held_out))["variable"]
    assert out.dtype == np.float32 and out.shape == (140, 2)
    np.testing.assert_allclose(out, reg.predict(held_out), **TOL)
    assert abs(out[:, 0].mean()) > 10  # the unscaling is in the graph


def test_single_output_poisson_regressor_exports_its_exp_link(tabular):
    X, held_out = tabular
    reg = MLPRegressor(loss="poisson", hidden_layer_sizes=(8,), **FAST).fit(X, np.abs(X[:, 0]))
    out = run(to_onnx(reg, X[:3]), onnx_inputs(reg, held_out))["variable"]
    assert out.shape == (140,) and (out > 0).all()
    np.testing.assert_allclose(out, reg.predict(held_out), **TOL)


def test_convnet_exports_from_images_and_from_rows():
    rng = np.random.RandomState(0)
    X = rng.normal(size=(70, 1, 6, 6))
    y = (X[:, 0, :3].mean(axis=(1, 2)) > 0).astype(int)
    clf = ConvNetClassifier(filters=(4,), hidden_layer_sizes=(8,), **FAST).fit(X[:40], y[:40])
    model = assert_classifier_exports(clf, X[:2], X[40:], X[40:41])
    rows = onnx_inputs(clf, X[40:].reshape(30, -1))  # flat rows read as the fitted images
    np.testing.assert_allclose(run(model, rows)["probabilities"], clf.predict_proba(X[40:]),
                               **TOL)


def test_lstm_exports_fixed_length_sequences():
    rng = np.random.RandomState(0)
    X = rng.normal(size=(60, 7, 2))
    y = (X[:, :3, 0].sum(axis=1) > 0).astype(int)
    clf = LSTMSequenceClassifier(hidden_size=4, conv_channels=(4,), **FAST).fit(X[:40], y[:40])
    model = assert_classifier_exports(clf, X[:3], X[40:], X[40:41])
    assert [i.name for i in model.graph.input] == ["X", "lengths"]


@pytest.mark.parametrize("params", [
    dict(bidirectional=True, summary="last", conv_layout="stacked", conv_channels=(4, 4),
         squeeze_excite=2),
    dict(num_layers=2, summary="mean", layer_norm=True, standardize="timestep",
         conv_channels=None),
])
def test_lstm_exports_variable_length_sequences(params):
    rng = np.random.RandomState(0)
    X = [rng.normal(size=(rng.randint(3, 10), 2)) for _ in range(60)]
    y = np.array([int(x[:, 0].sum() > 0) + int(x[-1, 1] > 0) for x in X])
    clf = LSTMSequenceClassifier(hidden_size=4, **params, **FAST).fit(X[:40], y[:40])
    longer = [rng.normal(size=(n, 2)) for n in (14, 1, 6)]  # longer than any fitted or traced
    assert_classifier_exports(clf, X[:3], X[40:], X[40:41], longer)


def test_mlp_with_categorical_columns_exports_with_its_codes_input():
    pd = pytest.importorskip("pandas")
    if "categorical_features" not in MLPClassifier().get_params():
        pytest.skip("this MLPClassifier has no categorical columns")
    rng = np.random.RandomState(0)
    X = pd.DataFrame({"a": rng.normal(size=100), "b": rng.normal(size=100),
                      "c": pd.Categorical(rng.choice(["x", "y", "z"], 100))})
    y = (X["a"] + (X["c"] == "x") > 0.5).astype(int)
    clf = MLPClassifier(hidden_layer_sizes=(8,), **FAST).fit(X[:60], y[:60])
    model = assert_classifier_exports(clf, X[:3], X[60:])
    assert [i.name for i in model.graph.input] == ["X", "codes"]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_pipeline_converts_with_skl2onnx_after_registration(tabular, dtype):
    skl2onnx = pytest.importorskip("skl2onnx")
    X, held_out = tabular
    y = np.array(["a", "b", "c"])[(X[:, 0] > 2.0).astype(int) + (X[:, 1] > 2.0)]
    pipe = make_pipeline(StandardScaler(), MLPClassifier(hidden_layer_sizes=(8,), **FAST))
    pipe.fit(X, y)
    register_skl2onnx()
    model = skl2onnx.to_onnx(pipe, X[:1].astype(dtype))
    out = run(model, {"X": held_out.astype(dtype)})
    np.testing.assert_allclose(out["probabilities"], pipe.predict_proba(held_out), **TOL)
    np.testing.assert_array_equal(out["label"], pipe.predict(held_out))


def test_pipeline_steps_compose_with_merge_models(tabular):
    skl2onnx = pytest.importorskip("skl2onnx")
    X, held_out = tabular
    y = (X[:, 0] > 2.0).astype(int)
    scaler = StandardScaler().fit(X)
    mlp = MLPClassifier(hidden_layer_sizes=(8,), **FAST).fit(scaler.transform(X), y)
    scaler_onx = skl2onnx.to_onnx(scaler, X[:1], target_opset=20)
    mlp_onx = onnx.compose.add_prefix(to_onnx(mlp, scaler.transform(X[:1]), opset=20), "mlp_")
    model = onnx.compose.merge_models(scaler_onx, mlp_onx, io_map=[("variable", "mlp_X")])
    out = run(model, {"X": held_out})
    pipe = make_pipeline(scaler, mlp)
    np.testing.assert_allclose(out["mlp_probabilities"], pipe.predict_proba(held_out), **TOL)
    np.testing.assert_array_equal(out["mlp_label"], pipe.predict(held_out))


@pytest.mark.parametrize("est", [GANSampler(), MixtureDensityRegressor(),
                                 SklearnMLPClassifier()], ids=lambda est: type(est).__name__)
def test_unsupported_estimators_are_refused_by_type(est, tabular):
    with pytest.raises(TypeError, match=type(est).__name__):
        to_onnx(est, tabular[0][:2])


def test_unfitted_and_random_estimators_are_refused(binary_mlp, tabular):
    X = tabular[0][:2]
    with pytest.raises(NotFittedError):  # a ValueError
        to_onnx(MLPClassifier(), X)
    random = copy.deepcopy(binary_mlp).set_params(mc_dropout=4)
    with pytest.raises(ValueError, match="mc_dropout=4"):
        to_onnx(random, X)


def test_missing_onnx_names_the_extra(binary_mlp, tabular, monkeypatch):
    monkeypatch.setitem(sys.modules, "onnx", None)  # ``import onnx`` raises ImportError
    with pytest.raises(ImportError, match=r"skneural\[onnx\]"):
        to_onnx(binary_mlp, tabular[0][:2])
