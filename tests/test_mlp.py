"""Behaviour of the MLP estimators and the shared engine, shown rather than run."""

import pickle
import threading
import warnings

import numpy as np
import pytest
import torch
from sklearn.datasets import load_diabetes, load_digits, make_classification, make_regression
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.neural_network._base import LOSS_FUNCTIONS
from sklearn.preprocessing import StandardScaler

from _estimators import (
    assert_restored_the_best_epoch,
    record_validation_epochs,
    warm_oracle_fresh,
)
from skneural import MLPClassifier, MLPRegressor
from skneural._core.device import torch_threads
from skneural._core.losses import LOSSES
from skneural._core.networks import fold_batch_norm


@pytest.fixture(scope="module")
def blobs():
    X, y = make_classification(n_samples=300, n_features=10, n_informative=6,
                               n_classes=3, random_state=0)
    return StandardScaler().fit_transform(X), y


def quiet(**kwargs):
    warnings.simplefilter("ignore", ConvergenceWarning)
    return kwargs


# ------------------------------------------------------------------ losses
@pytest.mark.parametrize("name", ["squared_error", "log_loss", "binary_log_loss", "poisson"])
def test_losses_match_sklearn(name):
    """Each loss on raw outputs equals sklearn's loss on the activated outputs."""
    rng = np.random.RandomState(0)
    raw = rng.normal(size=(50, 4))
    weight = rng.uniform(0.1, 2.0, size=50)
    if name == "log_loss":
        labels = rng.randint(0, 4, size=50)
        target, y_true = labels, np.eye(4)[labels]
        y_pred = torch.softmax(torch.tensor(raw), 1).numpy()
    elif name == "binary_log_loss":
        target = y_true = rng.randint(0, 2, size=(50, 4)).astype(float)
        y_pred = 1 / (1 + np.exp(-raw))
    elif name == "poisson":
        target = y_true = rng.poisson(2.0, size=(50, 4)).astype(float)
        y_pred = np.exp(raw)
    else:
        target = y_true = rng.normal(size=(50, 4))
        y_pred = raw
    sk_name = "squared_error" if name == "squared_error" else name
    expected = LOSS_FUNCTIONS[sk_name](y_true, y_pred, weight)
    got = LOSSES[name](torch.tensor(raw), torch.as_tensor(target), torch.tensor(weight))
    np.testing.assert_allclose(float(got), expected, rtol=1e-6)


# --------------------------------------------------------- sklearn parity
def test_fitted_attributes_mirror_sklearn(blobs):
    X, y = blobs
    clf = MLPClassifier(hidden_layer_sizes=(16, 8), max_iter=20, **quiet(random_state=0)).fit(X, y)
    assert [c.shape for c in clf.coefs_] == [(10, 16), (16, 8), (8, 3)]
    assert [b.shape for b in clf.intercepts_] == [(16,), (8,), (3,)]
    assert clf.n_layers_ == 4 and clf.n_outputs_ == 3 and clf.out_activation_ == "softmax"
    assert clf.n_iter_ == len(clf.loss_curve_) == 20
    assert clf.t_ == 20 * len(X)
    assert clf.loss_ == clf.loss_curve_[-1] and clf.best_loss_ == min(clf.loss_curve_)
    assert clf.validation_scores_ is None and clf.best_validation_score_ is None


def test_alpha_is_sklearns_l2_term(blobs):
    """loss_ includes 0.5 * alpha * ||W||^2 / n over weight matrices only, as in sklearn."""
    X, y = blobs
    clf = MLPClassifier(hidden_layer_sizes=(8,), alpha=0.5, batch_size=len(X), max_iter=1,
                        learning_rate_init=1e-12, shuffle=False, **quiet(random_state=0))
    clf.fit(X, y)
    proba = clf.predict_proba(X)
    data = LOSS_FUNCTIONS["log_loss"](np.eye(3)[y], proba)
    l2 = sum((c ** 2).sum() for c in clf.coefs_)
    np.testing.assert_allclose(clf.loss_, data + 0.5 * 0.5 * l2 / len(X), rtol=1e-5)


def test_digits_cv_at_least_sklearn():
    """5-fold stratified CV with early stopping in a scaler pipeline: >= sklearn's accuracy."""
    from sklearn.model_selection import StratifiedKFold, cross_val_score
    from sklearn.neural_network import MLPClassifier as SkMLP
    from sklearn.pipeline import make_pipeline

    X, y = load_digits(return_X_y=True)
    cv = StratifiedKFold(5, shuffle=True, random_state=0)
    ours, theirs = [], []
    for seed in (0, 1):  # one seed's fold scores move by ~0.5%: compare seed averages
        settings = dict(hidden_layer_sizes=(100,), early_stopping=True, random_state=seed)
        pipe = make_pipeline(StandardScaler(), MLPClassifier(**settings))
        ours.append(cross_val_score(pipe, X, y, cv=cv).mean())
        pipe = make_pipeline(StandardScaler(), SkMLP(**settings))
        theirs.append(cross_val_score(pipe, X, y, cv=cv).mean())
    assert np.mean(ours) >= np.mean(theirs) - 0.006, (ours, theirs)
    assert np.mean(ours) > 0.95


# ------------------------------------------------------------ early stopping
def _row_indices(X, rows):
    """Where each of ``rows`` is in ``X`` (rows of ``X`` are unique)."""
    idx = [np.flatnonzero((X == row).all(axis=1)) for row in rows]
    assert all(len(i) == 1 for i in idx)
    return np.concatenate(idx)


def test_early_stopping_stops_and_restores_best(blobs):
    X, y = blobs
    clf = MLPClassifier(hidden_layer_sizes=(64,), early_stopping=True, n_iter_no_change=5,
                        learning_rate_init=0.01, max_iter=500, random_state=3)
    record = record_validation_epochs(clf)
    clf.fit(X, y)
    scores = clf.validation_scores_
    assert len(scores) == clf.n_iter_
    assert_restored_the_best_epoch(clf, record)
    # the held-out rows the engine scored: a stratified tenth of the data
    val = _row_indices(X, record["val"][0][0].cpu().numpy())
    assert len(val) == 30
    assert np.abs(np.bincount(y[val], minlength=3) - np.bincount(y) / 10).max() < 1
    # predict with the fitted model scores the best epoch's accuracy there, not the last's
    assert clf.score(X[val], y[val]) == pytest.approx(clf.best_validation_score_)
    assert clf.score(X[val], y[val]) > scores[-1]


def test_regressor_early_stopping_uses_the_loss_by_default_and_r2_on_request():
    X, y = make_regression(n_samples=200, n_features=5, noise=5.0, random_state=0)
    reg = MLPRegressor(early_stopping=True, max_iter=300, random_state=0).fit(X, y)
    # scoring="loss": the score is the negative validation loss, the loss curve beside it
    assert reg.validation_scores_ == [-v for v in reg.validation_loss_curve_]
    assert reg.best_validation_score_ == -min(reg.validation_loss_curve_) < 0
    r2 = MLPRegressor(early_stopping=True, max_iter=300, random_state=0, scoring=None)
    r2.fit(X, y)
    assert 0.5 < r2.best_validation_score_ <= 1.0  # sklearn's MLPRegressor: R^2
    assert len(r2.validation_loss_curve_) == r2.n_iter_


# ---------------------------------------------------------- dropout and BN
def test_dropout_active_in_training_only(blobs):
    X, y = blobs
    clf = MLPClassifier(hidden_layer_sizes=(64,), dropout=0.5, max_iter=5,
                        **quiet(random_state=0)).fit(X, y)
    np.testing.assert_array_equal(clf.predict_proba(X), clf.predict_proba(X))
    xt = torch.as_tensor(X)
    clf.module_.train()
    with torch.no_grad():
        a, b = clf.module_(xt), clf.module_(xt)
    clf.module_.eval()
    assert not torch.allclose(a, b)
    # inverted dropout keeps the expected activation: the mean over many masks matches eval
    clf.module_.train()
    with torch.no_grad():
        mean_train = torch.stack([clf.module_.hidden(xt) for _ in range(400)]).mean(0)
    clf.module_.eval()
    with torch.no_grad():
        eval_out = clf.module_.hidden(xt)
    assert (mean_train - eval_out).abs().mean() < 0.05 * eval_out.abs().mean()


def test_per_layer_dropout_needs_one_rate_per_layer(blobs):
    X, y = blobs
    with pytest.raises(ValueError, match="dropout has 3 entries"):
        MLPClassifier(hidden_layer_sizes=(8, 8), dropout=[0.1, 0.2, 0.3]).fit(X, y)


def test_batch_norm_predicts_with_running_statistics(blobs):
    X, y = blobs
    clf = MLPClassifier(hidden_layer_sizes=(32,), batch_norm=True, max_iter=10,
                        **quiet(random_state=0)).fit(X, y)
    bn = clf.module_.hidden[0][1]
    assert isinstance(bn, torch.nn.BatchNorm1d)
    # a row alone gets the same output as inside a batch: no batch statistics at predict
    np.testing.assert_allclose(clf.predict_proba(X[:1]), clf.predict_proba(X)[:1], rtol=1e-10)
    z = torch.as_tensor(X) @ clf.module_.hidden[0][0].weight.T + clf.module_.hidden[0][0].bias
    manual = (z - bn.running_mean) / torch.sqrt(bn.running_var + bn.eps) * bn.weight + bn.bias
    with torch.no_grad():
        np.testing.assert_allclose(clf.module_.hidden[0][1](z).numpy(), manual.numpy(), rtol=1e-10)


def test_batch_norm_running_variance_is_unbiased():
    """With momentum=None torch keeps the running mean of unbiased batch variances m/(m-1)."""
    bn = torch.nn.BatchNorm1d(3, momentum=None).double()
    batches = [torch.randn(8, 3, dtype=torch.float64) * 2 for _ in range(5)]
    for b in batches:
        bn(b)
    expected = torch.stack([b.var(0, unbiased=True) for b in batches]).mean(0)
    torch.testing.assert_close(bn.running_var, expected)


def test_fold_batch_norm_is_exact(blobs):
    X, y = blobs
    clf = MLPClassifier(hidden_layer_sizes=(32, 16), batch_norm=True, dropout=0.2, max_iter=5,
                        **quiet(random_state=0)).fit(X, y)
    folded = fold_batch_norm(clf.module_)
    xt = torch.as_tensor(X)
    with torch.no_grad():
        torch.testing.assert_close(folded(xt), clf.module_.eval()(xt))
    assert not any(isinstance(m, torch.nn.BatchNorm1d) for m in folded.modules())


def test_layer_norm_and_conflicting_normalization(blobs):
    X, y = blobs
    clf = MLPClassifier(hidden_layer_sizes=(16,), normalization="layer", max_iter=5,
                        **quiet(random_state=0)).fit(X, y)
    assert isinstance(clf.module_.hidden[0][1], torch.nn.LayerNorm)
    with pytest.raises(ValueError, match="conflicts"):
        MLPClassifier(batch_norm=True, normalization="layer").fit(X, y)


# ------------------------------------------------- continuation and seeding
def test_warm_start_continues_training(blobs):
    X, y = blobs
    clf = MLPClassifier(hidden_layer_sizes=(32,), max_iter=5, warm_start=True,
                        **quiet(random_state=0))
    clf.fit(X, y)
    first = list(clf.loss_curve_)
    progress = first[0] - first[-1]
    assert progress > 0.03  # the first fit learned, so a restart would show
    clf.fit(X, y)
    assert len(clf.loss_curve_) == 10 and clf.loss_curve_[:5] == first
    resumed = clf.loss_curve_[5]  # the second fit's first epoch
    assert abs(resumed - first[-1]) < progress / 2 and resumed < first[0] - progress / 2
    # with one epoch a fit: the second fit is exactly one epoch (fresh optimizer, as
    # sklearn) from the first fit's weights, which a fresh fit would reproduce instead
    one = dict(hidden_layer_sizes=(32,), max_iter=1, random_state=0)
    warm, oracle, fresh = warm_oracle_fresh(MLPClassifier, one, X, y)
    for ours, expected, restarted in zip(warm.coefs_, oracle.coefs_, fresh.coefs_):
        np.testing.assert_allclose(ours, expected, rtol=1e-10, atol=1e-12)
        assert not np.allclose(ours, restarted)
    assert warm.loss_curve_[1] == pytest.approx(oracle.loss_curve_[0])


def test_partial_fit_keeps_optimizer_and_improves(blobs):
    X, y = blobs
    clf = MLPClassifier(hidden_layer_sizes=(32,), random_state=0)
    clf.partial_fit(X, y, classes=np.unique(y))
    optimizer = clf._optimizer
    for _ in range(20):
        clf.partial_fit(X, y)
    assert clf._optimizer is optimizer
    assert clf.n_iter_ == 21 and clf.loss_curve_[-1] < clf.loss_curve_[0]
    with pytest.raises(ValueError, match="not seen"):
        clf.partial_fit(X, y + 10)


def test_partial_fit_rejects_lbfgs_and_early_stopping(blobs):
    X, y = blobs
    with pytest.raises(ValueError, match="stochastic solvers"):
        MLPClassifier(solver="lbfgs").partial_fit(X, y, classes=np.unique(y))
    with pytest.raises(ValueError, match="early_stopping"):
        MLPClassifier(early_stopping=True).partial_fit(X, y, classes=np.unique(y))


def test_same_random_state_gives_identical_fits(blobs):
    X, y = blobs
    kw = quiet(hidden_layer_sizes=(32,), dropout=0.3, batch_norm=True, max_iter=10)
    a = MLPClassifier(random_state=7, **kw).fit(X, y).predict_proba(X)
    b = MLPClassifier(random_state=7, **kw).fit(X, y).predict_proba(X)
    c = MLPClassifier(random_state=8, **kw).fit(X, y).predict_proba(X)
    assert np.array_equal(a, b)
    assert not np.array_equal(a, c)


def test_fit_leaves_global_torch_rng_alone(blobs):
    X, y = blobs
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    MLPClassifier(max_iter=2, **quiet(random_state=0)).fit(X, y)
    torch.testing.assert_close(torch.rand(3), expected)


# ---------------------------------------------------------------- solvers
@pytest.mark.parametrize("solver", ["sgd", "adam", "adamw", "adagrad", "rmsprop", "adadelta",
                                    "lbfgs"])
def test_every_solver_lowers_the_loss(blobs, solver):
    X, y = blobs
    start = MLPClassifier(hidden_layer_sizes=(32,), solver=solver, max_iter=1,
                          learning_rate_init=1e-12, **quiet(random_state=0)).fit(X, y).loss_
    clf = MLPClassifier(hidden_layer_sizes=(32,), solver=solver, max_iter=40,
                        learning_rate_init=0.01, **quiet(random_state=0)).fit(X, y)
    assert clf.loss_ < 0.7 * start, (solver, start, clf.loss_)


@pytest.mark.parametrize("schedule", ["invscaling", "adaptive"])
def test_sgd_schedules_change_the_step(blobs, schedule):
    X, y = blobs
    clf = MLPClassifier(solver="sgd", learning_rate=schedule, learning_rate_init=0.1,
                        max_iter=30, n_iter_no_change=2, tol=10.0,
                        **quiet(random_state=0)).fit(X, y)
    lr = clf._optimizer.param_groups[0]["lr"]
    assert lr < 0.1


def test_diverging_fit_restores_finite_weights_and_warns(blobs):
    X, y = blobs
    X = X * 1e3
    clf = MLPClassifier(hidden_layer_sizes=(32,), solver="sgd", learning_rate_init=1e6,
                        momentum=0.0, max_iter=50, random_state=0)
    with pytest.warns(ConvergenceWarning, match="non-finite"):
        clf.fit(X, y)
    assert all(np.isfinite(c).all() for c in clf.coefs_)
    assert np.isfinite(clf.predict_proba(X)).all()
    assert clf.n_iter_ < 50


def test_keyboard_interrupt_keeps_a_usable_estimator(blobs, monkeypatch):
    X, y = blobs
    # GELU has no hand-written backward: the step stays on autograd, which calls _data_loss
    clf = MLPClassifier(hidden_layer_sizes=(16,), batch_norm=True, activation="gelu",
                        max_iter=50, random_state=0)
    calls = {"n": 0}
    original = MLPClassifier._data_loss

    def interrupting(self, raw, target, weight):
        calls["n"] += 1
        if calls["n"] == 8:
            raise KeyboardInterrupt
        return original(self, raw, target, weight)

    monkeypatch.setattr(MLPClassifier, "_data_loss", interrupting)
    with pytest.warns(UserWarning, match="interrupted"):
        clf.fit(X, y)
    assert clf.n_iter_ >= 1 and np.isfinite(clf.predict_proba(X)).all()


def test_gradient_clipping_bounds_the_update(blobs):
    X, y = blobs
    clf = MLPClassifier(hidden_layer_sizes=(16,), solver="sgd", momentum=0.0, max_iter=1,
                        batch_size=len(X), learning_rate_init=1.0, clip_grad_norm=1e-3,
                        shuffle=False, alpha=0.0, **quiet(random_state=0))
    ref = MLPClassifier(**{**clf.get_params(), "learning_rate_init": 1e-300}).fit(X, y)
    clf.fit(X, y)
    step = np.sqrt(sum(((a - b) ** 2).sum() for a, b in zip(clf.coefs_ + clf.intercepts_,
                                                            ref.coefs_ + ref.intercepts_)))
    assert step <= 1e-3 * (1 + 1e-6)


# ----------------------------------------------------------- tasks and data
def test_binary_string_labels_and_pandas(blobs):
    pd = pytest.importorskip("pandas")
    X, y = blobs
    labels = np.where(y == 0, "cat", "dog")
    frame = pd.DataFrame(X, columns=[f"f{i}" for i in range(X.shape[1])])
    clf = MLPClassifier(hidden_layer_sizes=(16,), max_iter=100, **quiet(random_state=0))
    clf.fit(frame, pd.Series(labels))
    assert list(clf.feature_names_in_) == list(frame.columns)
    assert set(clf.predict(frame)) <= {"cat", "dog"} and clf.out_activation_ == "logistic"
    proba = clf.predict_proba(frame)
    assert proba.shape == (len(X), 2)
    np.testing.assert_allclose(proba.sum(1), 1.0)
    np.testing.assert_allclose(np.log(proba), clf.predict_log_proba(frame), atol=1e-10)
    from sklearn.neural_network import MLPClassifier as SkMLP
    reference = SkMLP(hidden_layer_sizes=(16,), max_iter=100, random_state=0).fit(X, labels)
    assert clf.score(frame, labels) >= reference.score(X, labels) - 0.05


def test_multilabel_uses_independent_sigmoids():
    from sklearn.datasets import make_multilabel_classification

    X, Y = make_multilabel_classification(n_samples=200, n_classes=4, random_state=0)
    clf = MLPClassifier(hidden_layer_sizes=(32,), max_iter=200, **quiet(random_state=0)).fit(X, Y)
    proba = clf.predict_proba(X)
    assert proba.shape == (200, 4) and clf.out_activation_ == "logistic"
    assert not np.allclose(proba.sum(1), 1.0)
    assert clf.predict(X).shape == (200, 4) and clf.score(X, Y) > 0.5


def test_regressor_handles_unscaled_and_multioutput_targets():
    X, y = load_diabetes(return_X_y=True)
    assert y.mean() > 100
    X_tr, X_te, y_tr, y_te = train_test_split(X, y, random_state=0)
    reg = MLPRegressor(hidden_layer_sizes=(32,), max_iter=400, **quiet(random_state=0))
    assert reg.fit(X_tr, y_tr).score(X_te, y_te) > 0.35
    Y = np.column_stack([y, -3 * y + 1000])
    reg.fit(X, Y)
    assert reg.predict(X).shape == (len(X), 2) and reg.score(X, Y) > 0.4


def test_poisson_loss_predicts_rates():
    rng = np.random.RandomState(0)
    X = rng.normal(size=(400, 3))
    y = rng.poisson(np.exp(0.5 * X[:, 0] + 1.0))
    reg = MLPRegressor(loss="poisson", hidden_layer_sizes=(16,), max_iter=300,
                       **quiet(random_state=0)).fit(X, y)
    assert reg.out_activation_ == "exp" and (reg.predict(X) > 0).all()
    assert np.corrcoef(reg.predict(X), np.exp(0.5 * X[:, 0] + 1.0))[0, 1] > 0.9
    with pytest.raises(ValueError, match="non-negative"):
        reg.fit(X, -y - 1)


def test_sample_weight_changes_the_fit(blobs):
    X, y = blobs
    weight = np.where(y == 0, 0.0, 1.0)
    clf = MLPClassifier(hidden_layer_sizes=(16,), max_iter=100, **quiet(random_state=0))
    clf.fit(X, y, sample_weight=weight)
    assert (clf.predict(X) == 0).mean() < 0.05


def test_float32_input_trains_in_float32(blobs):
    X, y = blobs
    clf = MLPClassifier(max_iter=3, **quiet(random_state=0)).fit(X.astype(np.float32), y)
    assert clf.module_.out.weight.dtype == torch.float32
    assert clf.predict_proba(X).dtype == np.float64  # float64 rows are cast for predict


# ------------------------------------------------------------- persistence
def test_pickle_round_trip_and_gpu_model_loads_on_cpu(blobs):
    X, y = blobs
    clf = MLPClassifier(hidden_layer_sizes=(16,), max_iter=5, **quiet(random_state=0)).fit(X, y)
    expected = clf.predict_proba(X)
    np.testing.assert_array_equal(pickle.loads(pickle.dumps(clf)).predict_proba(X), expected)
    if not torch.cuda.is_available():
        # stand-in for a GPU fit: the pickle must carry CPU weights and load here
        clf.device_ = "cuda:0"
        clone = pickle.loads(pickle.dumps(clf))
        assert clone._inference_device().type == "cpu"
        np.testing.assert_array_equal(clone.predict_proba(X), expected)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_fit_pickles_to_cpu(blobs):
    X, y = blobs
    clf = MLPClassifier(hidden_layer_sizes=(16,), max_iter=5, device="cuda",
                        **quiet(random_state=0)).fit(X, y)
    state = clf.__getstate__()
    assert all(isinstance(w, np.ndarray) for w in state["module_"].values())
    np.testing.assert_allclose(pickle.loads(pickle.dumps(clf)).predict_proba(X),
                               clf.predict_proba(X), rtol=1e-6)


def test_bad_device_is_a_clear_error(blobs):
    X, y = blobs
    with pytest.raises(ValueError, match="device='tpu'"):
        MLPClassifier(device="tpu").fit(X, y)
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="CUDA is not available"):
            MLPClassifier(device="cuda").fit(X, y)


# ---------------------------------------------------------- threads, verbose
def test_worker_threads_use_one_torch_thread():
    seen = {}

    def work():
        with torch_threads(None):
            seen["worker"] = torch.get_num_threads()

    thread = threading.Thread(target=work)
    thread.start()
    thread.join()
    assert seen["worker"] == 1
    before = torch.get_num_threads()
    with torch_threads(1):
        assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == before


def test_forward_flops_counts_the_matrix_products():
    from skneural._core.device import forward_flops
    from skneural._core.networks import MLP

    net = MLP(5, [8], 3, dropout=0.5).train()
    assert forward_flops(net, torch.zeros(1, 5)) == 2 * (5 * 8 + 8 * 3)
    assert forward_flops(net, torch.zeros(4, 5)) == 4 * 2 * (5 * 8 + 8 * 3)
    assert net.training  # back in the mode it was in


@pytest.mark.parametrize("width,solver", [(16, "adam"), (16, "lbfgs"), (1024, "adam")])
def test_auto_threads_use_one_thread_for_small_steps(blobs, monkeypatch, width, solver,
                                                     two_threads):
    """n_threads="auto": one thread while training when a step is under 5e6 FLOPs, torch's
    default otherwise; the caller's count is back after the fit."""
    from skneural._core import device

    X, y = blobs
    seen = []
    original = MLPClassifier._data_loss

    def spy(self, raw, target, weight):
        seen.append(torch.get_num_threads())
        return original(self, raw, target, weight)

    monkeypatch.setattr(MLPClassifier, "_data_loss", spy)
    before = torch.get_num_threads()
    clf = MLPClassifier((width, width), solver=solver, batch_size=200, max_iter=2,
                        activation="gelu", **quiet(random_state=0))  # gelu: autograd step
    assert clf.n_threads == "auto"
    clf.fit(np.repeat(X, 4, axis=0), np.repeat(y, 4))
    flops = 3 * 200 * 2 * (X.shape[1] * width + width * width + width * 3)
    expected = 1 if flops < device.AUTO_THREADS_MIN_FLOPS else before
    assert seen and set(seen) == {expected}, (flops, set(seen))
    assert torch.get_num_threads() == before
    # an explicit count is kept whatever the step
    seen.clear()
    MLPClassifier((width, width), n_threads=2, max_iter=1, activation="gelu",
                  **quiet(random_state=0)).fit(X, y)
    assert set(seen) == {2}


def test_verbose_shows_progress_and_quiet_by_default(blobs, capsys):
    X, y = blobs
    MLPClassifier(max_iter=3, **quiet(random_state=0)).fit(X, y)
    assert capsys.readouterr().err == ""
    MLPClassifier(max_iter=3, verbose=True, early_stopping=True, **quiet(random_state=0)).fit(X, y)
    err = capsys.readouterr().err
    assert "loss=" in err and "val_score=" in err


# ------------------------------------------------- explicit backpropagation
@pytest.mark.parametrize("activation", ["relu", "tanh", "logistic", "identity"])
@pytest.mark.parametrize("loss_name,n_out", [("log_loss", 3), ("binary_log_loss", 2),
                                             ("squared_error", 2), ("poisson", 2)])
@pytest.mark.parametrize("weighted", [False, True])
def test_manual_backprop_matches_autograd(activation, loss_name, n_out, weighted):
    """The hand-written gradient of plain MLPs equals autograd's, loss value included."""
    from skneural._core.networks import MLP, manual_backprop

    rng = np.random.RandomState(0)
    x = torch.tensor(rng.normal(size=(17, 5)))
    if loss_name == "log_loss":
        target = torch.tensor(rng.randint(0, n_out, size=17))
    elif loss_name == "binary_log_loss":
        target = torch.tensor(rng.randint(0, 2, size=(17, n_out)).astype(float))
    elif loss_name == "poisson":
        target = torch.tensor(rng.poisson(1.0, size=(17, n_out)).astype(float))
    else:
        target = torch.tensor(rng.normal(size=(17, n_out)))
    weight = torch.tensor(rng.uniform(0, 2, size=17)) if weighted else None
    torch.manual_seed(0)
    net = MLP(5, [8, 6], n_out, activation=activation).double()

    expected = LOSSES[loss_name](net(x), target, weight)
    expected.backward()
    auto = [p.grad.clone() for p in net.parameters()]
    net.zero_grad(set_to_none=True)
    got = manual_backprop(net, x, target, weight, loss_name, activation)
    torch.testing.assert_close(got, expected.detach())
    for g_manual, g_auto in zip([p.grad for p in net.parameters()], auto):
        torch.testing.assert_close(g_manual, g_auto)


def test_manual_backprop_covers_normalized_mlps_but_not_embeddings(blobs):
    X, y = blobs
    for params in ({}, {"batch_norm": True, "dropout": 0.2}, {"normalization": "layer"}):
        clf = MLPClassifier(hidden_layer_sizes=(8,), max_iter=1, **params,
                            **quiet(random_state=0)).fit(X, y)
        assert clf._manual_step() is not None, params
    tabular = MLPClassifier(hidden_layer_sizes=(8,), max_iter=1, categorical_features=[0],
                            **quiet(random_state=0))
    Xc = np.column_stack([np.arange(len(X)) % 3, X[:, 1:]])
    assert tabular.fit(Xc, y)._manual_step() is None


@pytest.mark.parametrize("norm", ["batch", "layer"])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("activation,dropout", [("relu", 0.0), ("tanh", 0.3), ("relu", 0.3)])
@pytest.mark.parametrize("momentum", [0.1, None])
def test_manual_backprop_with_normalization_matches_autograd(norm, weighted, activation, dropout,
                                                             momentum):
    """Batch norm (train-mode and weighted statistics, running averages) and layer norm by hand:
    loss, every gradient and the running statistics equal the autograd path's."""
    from skneural._core.networks import MLP, batch_norm_layers, manual_backprop

    if norm == "layer" and momentum is None:
        pytest.skip("layer norm has no running statistics")
    rng = np.random.RandomState(0)
    x = torch.tensor(rng.normal(size=(17, 5)))
    target = torch.tensor(rng.randint(0, 3, size=17))
    weight = torch.tensor(rng.uniform(0, 2, size=17)) if weighted else None
    torch.manual_seed(0)
    net = MLP(5, [8, 6], 3, activation=activation, normalization=norm, dropout=dropout)
    net = net.double().train()
    for layer in batch_norm_layers(net):
        layer.momentum = momentum
        layer.num_batches_tracked += 3  # the cumulative average's count matters
    with torch.no_grad():  # non-trivial scales and shifts
        for module in net.modules():
            if isinstance(module, (torch.nn.BatchNorm1d, torch.nn.LayerNorm)):
                module.weight.uniform_(0.5, 1.5)
                module.bias.uniform_(-0.5, 0.5)
    start = {k: v.clone() for k, v in net.state_dict().items()}

    for layer in batch_norm_layers(net):
        layer.sample_weight = weight
    torch.manual_seed(1)
    expected = LOSSES["log_loss"](net(x), target, weight)
    expected.backward()
    for layer in batch_norm_layers(net):
        layer.sample_weight = None
    auto = [p.grad.clone() for p in net.parameters()]
    auto_state = {k: v.clone() for k, v in net.state_dict().items()}

    net.load_state_dict(start)
    net.zero_grad(set_to_none=True)
    torch.manual_seed(1)
    got = manual_backprop(net, x, target, weight, "log_loss", activation)
    torch.testing.assert_close(got, expected.detach())
    for (name, param), g_auto in zip(net.named_parameters(), auto):
        torch.testing.assert_close(param.grad, g_auto, msg=name)
    for name, value in net.state_dict().items():
        torch.testing.assert_close(value, auto_state[name], msg=name)
    if norm == "batch":
        assert not torch.equal(net.state_dict()["hidden.0.1.running_mean"],
                               start["hidden.0.1.running_mean"])


def test_normalized_mlp_fit_is_the_autograd_fit(blobs, monkeypatch):
    """Whole fits with batch norm + dropout (and class weights) agree with the autograd engine."""
    from skneural._core import mlp_base

    X, y = blobs
    params = dict(hidden_layer_sizes=(16, 8), batch_norm=True, dropout=0.2, max_iter=4,
                  class_weight="balanced", alpha=1e-3)
    fast = MLPClassifier(**params, **quiet(random_state=0)).fit(X, y)
    monkeypatch.setattr(mlp_base, "supports_manual_backprop", lambda *args: False)
    slow = MLPClassifier(**params, **quiet(random_state=0)).fit(X, y)
    assert slow._manual_step() is None
    np.testing.assert_allclose(fast.loss_curve_, slow.loss_curve_, rtol=1e-4)
    np.testing.assert_allclose(fast.predict_proba(X), slow.predict_proba(X), rtol=1e-3,
                               atol=1e-5)


def test_sparse_input_is_densified_with_a_warning(blobs):
    import scipy.sparse
    from sklearn.exceptions import DataConversionWarning

    from skneural._core import base as _base

    X, y = blobs
    sparse = scipy.sparse.csr_matrix(np.where(np.abs(X) > 1, X, 0.0))
    with pytest.warns(DataConversionWarning, match="densified"):
        clf = MLPClassifier(max_iter=5, **quiet(random_state=0)).fit(sparse, y)
    np.testing.assert_allclose(clf.predict_proba(sparse), clf.predict_proba(sparse.toarray()))
    limit = _base.MAX_DENSE_ELEMENTS
    _base.MAX_DENSE_ELEMENTS = 10
    try:
        with pytest.raises(ValueError, match="TruncatedSVD"):
            MLPClassifier().fit(sparse, y)
    finally:
        _base.MAX_DENSE_ELEMENTS = limit


@pytest.mark.parametrize("activation", ["relu", "tanh", "logistic", "identity"])
def test_numpy_predict_path_matches_torch(blobs, activation):
    """A few rows go through numpy, many through torch: the same network either way."""
    from skneural._core.mlp_base import NUMPY_PREDICT_ROWS

    X, y = blobs
    clf = MLPClassifier(hidden_layer_sizes=(16, 8), activation=activation, max_iter=5,
                        **quiet(random_state=0)).fit(X, y)
    few = clf.predict_proba(X[:NUMPY_PREDICT_ROWS])
    many = clf.predict_proba(X)[:NUMPY_PREDICT_ROWS]
    np.testing.assert_allclose(few, many, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("activation", ["relu", "tanh"])
def test_manual_backprop_with_dropout_matches_autograd(activation):
    """Dropout masks are drawn exactly as the network's dropout draws them, so the gradients agree."""
    from skneural._core.networks import MLP, manual_backprop

    rng = np.random.RandomState(0)
    x = torch.tensor(rng.normal(size=(17, 5)))
    target = torch.tensor(rng.randint(0, 3, size=17))
    torch.manual_seed(0)
    net = MLP(5, [8, 6], 3, activation=activation, dropout=[0.3, 0.5]).double().train()
    torch.manual_seed(1)
    expected = LOSSES["log_loss"](net(x), target)
    expected.backward()
    auto = [p.grad.clone() for p in net.parameters()]
    net.zero_grad(set_to_none=True)
    torch.manual_seed(1)
    got = manual_backprop(net, x, target, None, "log_loss", activation)
    torch.testing.assert_close(got, expected.detach())
    for g_manual, g_auto in zip([p.grad for p in net.parameters()], auto):
        torch.testing.assert_close(g_manual, g_auto)


def test_inverted_dropout_is_dropout():
    """Same distribution as torch's dropout: zeros at rate p, survivors scaled by 1/(1-p)."""
    from skneural._core.networks import InvertedDropout

    p = 0.3
    layer = InvertedDropout(p).train()
    x = torch.randn(400, 500, dtype=torch.float64, requires_grad=True)
    torch.manual_seed(0)
    out = layer(x)
    kept = out.detach() != 0
    np.testing.assert_allclose(out.detach()[kept], x.detach()[kept] / (1 - p), rtol=1e-12)
    share = kept.double().mean().item()
    assert abs(share - (1 - p)) < 4 * np.sqrt(p * (1 - p) / kept.numel())  # 4 sd of a binomial
    out.sum().backward()
    np.testing.assert_allclose(x.grad, kept.double() / (1 - p), rtol=1e-12)
    # the mean over many masks is the identity: E[mask] = 1, as for torch.nn.Dropout
    torch.manual_seed(1)
    ones = torch.ones(2000, 200)
    mean_ours = layer(ones).mean().item()
    mean_torch = torch.nn.Dropout(p).train()(ones).mean().item()
    assert abs(mean_ours - 1) < 0.01 and abs(mean_torch - 1) < 0.01
    assert torch.equal(layer.eval()(x), x)


def test_direct_adam_kernel_matches_torch_optim(blobs, monkeypatch):
    """The engine's direct fused-Adam call gives exactly torch.optim.Adam's weights and state."""
    from skneural._core import optimizers

    X, y = blobs
    kw = dict(hidden_layer_sizes=(16,), dropout=0.2, max_iter=4, alpha=1e-3, random_state=0)
    fast = MLPClassifier(**kw).fit(X, y)
    monkeypatch.setattr(optimizers._FastAdam, "create", classmethod(lambda cls, opt: None))
    slow = MLPClassifier(**kw).fit(X, y)
    for a, b in zip(fast.coefs_ + fast.intercepts_, slow.coefs_ + slow.intercepts_):
        np.testing.assert_array_equal(a, b)
    for p_fast, p_slow in zip(fast.module_.parameters(), slow.module_.parameters()):
        s_fast, s_slow = fast._optimizer.state[p_fast], slow._optimizer.state[p_slow]
        assert float(s_fast["step"]) == float(s_slow["step"])
        torch.testing.assert_close(s_fast["exp_avg_sq"], s_slow["exp_avg_sq"], rtol=0, atol=0)


def test_direct_adam_kernel_falls_back_to_torch_optim(blobs, monkeypatch):
    """If torch's private kernel ever rejects the call, the fit continues through torch.optim."""
    from skneural._core import optimizers

    X, y = blobs
    kw = dict(hidden_layer_sizes=(16,), max_iter=3, random_state=0)
    reference = MLPClassifier(**kw).fit(X, y)

    def broken(self):
        raise TypeError("kernel signature changed")

    monkeypatch.setattr(optimizers._FastAdam, "step", broken)
    fallback = MLPClassifier(**kw).fit(X, y)
    for a, b in zip(fallback.coefs_, reference.coefs_):
        np.testing.assert_array_equal(a, b)
