"""Every estimator meets bad input with a clear error naming the problem."""

import re
import warnings

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning

from _estimators import CLASSIFIERS, FACTORIES, SUPERVISED, data, fit
from skneural import MLPClassifier, MLPRegressor
from skneural._core.validation import InvalidParameterError

warnings.filterwarnings("ignore", category=ConvergenceWarning)


@pytest.mark.parametrize("name", list(FACTORIES))
@pytest.mark.parametrize("value,match", [(np.nan, "NaN"), (np.inf, "infinity")])
def test_non_finite_X(name, value, match):
    X, y = data(name)
    X[3, 2] = value
    with pytest.raises(ValueError, match=match):
        fit(name, X, y)


@pytest.mark.parametrize("name", list(FACTORIES))
def test_empty_X(name):
    X, y = data(name)
    with pytest.raises(ValueError, match="0 sample|empty|minimum of 1"):
        fit(name, X[:0], None if y is None else y[:0])


@pytest.mark.parametrize("name", [n for n in FACTORIES if n != "LSTMSequenceClassifier"])
def test_one_dimensional_X(name):
    """(The LSTM reads a 1-D row list as sequences; the others need 2-D.)"""
    X, y = data(name)
    with pytest.raises(ValueError, match="2D|2-D|Expected 2D"):
        fit(name, X[:, 0], y)


@pytest.mark.parametrize("name", list(FACTORIES))
def test_strings_and_complex_X(name):
    X, y = data(name)
    if name != "GANSampler":  # strings are categories for the GAN
        with pytest.raises((ValueError, TypeError)):
            fit(name, np.full(X.shape, "a", dtype=object), y)
    with pytest.raises(ValueError, match="[Cc]omplex"):
        fit(name, X + 1j, y)


@pytest.mark.parametrize("name", SUPERVISED)
def test_wrong_number_of_features_at_predict(name):
    X, y = data(name)
    est = fit(name, X, y)
    with pytest.raises(ValueError, match="feature"):
        est.predict(X[:, :-1])


@pytest.mark.parametrize("name", SUPERVISED)
def test_y_of_the_wrong_length(name):
    X, y = data(name)
    with pytest.raises(ValueError, match="inconsistent|length|samples"):
        fit(name, X, y[:-3])


@pytest.mark.parametrize("name", SUPERVISED)
def test_nan_in_y(name):
    X, y = data(name)
    y = y.astype(float)
    y[0] = np.nan
    with pytest.raises(ValueError, match="NaN|Unknown label"):
        fit(name, X, y)


@pytest.mark.parametrize("name", CLASSIFIERS)
def test_single_class(name):
    X, y = data(name)
    with pytest.raises(ValueError, match="class"):
        fit(name, X, np.zeros_like(y))


@pytest.mark.parametrize("name", SUPERVISED)
def test_validation_split_too_small(name):
    X, y = data(name, n=6)
    with pytest.raises(ValueError, match="validation"):
        fit(name, X, y, early_stopping=True, validation_fraction=0.1)


@pytest.mark.parametrize("name", SUPERVISED)
def test_batch_size_larger_than_the_data_is_clipped_with_a_warning(name):
    X, y = data(name)
    with pytest.warns(UserWarning, match="batch_size"):
        est = fit(name, X, y, batch_size=1000)
    assert np.isfinite(est.predict(X).astype(float)).all()


@pytest.mark.parametrize("name", list(FACTORIES))
def test_invalid_parameter_values(name):
    X, y = data(name)
    with pytest.raises(InvalidParameterError, match="max_iter"):
        fit(name, X, y, max_iter=0)


@pytest.mark.parametrize("name", SUPERVISED)
def test_extreme_but_valid_values_train_without_nans(name):
    X, y = data(name, n=60)
    X = np.column_stack([X * 1e6, np.ones(len(X))])  # huge scale and a constant column
    X = np.vstack([X, X[:10]])  # duplicated rows
    y = np.concatenate([y, y[:10]])
    est = fit(name, X, y)
    assert np.isfinite(est.predict(X).astype(float)).all()


try:
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st
except ImportError:  # hypothesis is in the test extra; without it these tests are skipped
    given = None

if given is not None:
    @settings(max_examples=25, deadline=None,
              suppress_health_check=[HealthCheck.too_slow])
    @given(n=st.integers(1, 30), n_features=st.integers(1, 5),
           dtype=st.sampled_from([np.float32, np.float64, np.int64]),
           scale=st.sampled_from([1e-6, 1.0, 1e6]),
           solver=st.sampled_from(["adam", "sgd", "lbfgs", "rmsprop"]),
           batch_size=st.sampled_from(["auto", 1, 7]),
           regressor=st.booleans())
    def test_only_documented_exceptions_and_finite_outputs(n, n_features, dtype, scale, solver,
                                                           batch_size, regressor):
        rng = np.random.RandomState(n * 7 + n_features)
        X = (rng.normal(size=(n, n_features)) * scale).astype(dtype)
        y = X[:, 0].astype(float) if regressor else rng.randint(0, 2, size=n)
        cls = MLPRegressor if regressor else MLPClassifier
        est = cls(hidden_layer_sizes=(4,), solver=solver, batch_size=batch_size, max_iter=3,
                  random_state=0)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                est.fit(X, y)
            except ValueError as exc:  # documented: too few samples or a single class
                assert "class" in str(exc) or "sample" in str(exc), exc
                return
            out = est.predict(X) if regressor else est.predict_proba(X)
        assert np.isfinite(out).all()


if given is not None:
    @settings(max_examples=30, deadline=None,
              suppress_health_check=[HealthCheck.too_slow])
    @given(name=st.sampled_from(list(FACTORIES)), n=st.integers(1, 25),
           n_features=st.integers(1, 5),
           dtype=st.sampled_from([np.float32, np.float64, np.int64]),
           scale=st.sampled_from([1e-6, 1.0, 1e6]),
           batch_size=st.sampled_from(["auto", 1, 7]),
           early_stopping=st.booleans())
    def test_every_estimator_only_documented_exceptions_and_finite_outputs(
            name, n, n_features, dtype, scale, batch_size, early_stopping):
        """Shapes, dtypes, scales and parameters drawn at random, for all six estimators."""
        X, y = data(name, n=n, n_features=n_features)
        X = (X * scale).astype(dtype)
        params = dict(batch_size=batch_size)
        if name != "GANSampler":
            params["early_stopping"] = early_stopping
        elif batch_size == "auto":  # the GAN's batch_size is an int (documented)
            params = {}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                est = fit(name, X, y, **params)
            except ValueError as exc:  # documented: too few samples, a single class, or
                # one-row batches under batch norm (batch_size=1)
                assert re.search(r"class|sample|validation|batch_size=1 with batch norm",
                                 str(exc)), exc
                return
            out = est.sample(5, random_state=0) if name == "GANSampler" else \
                est.predict_proba(X) if hasattr(est, "predict_proba") else est.predict(X)
        assert np.isfinite(np.asarray(out, dtype=float)).all()


@pytest.mark.parametrize("name", SUPERVISED)
def test_predict_runs_in_bounded_chunks(name, monkeypatch):
    """Large inputs are predicted chunk by chunk, with the same result as in one pass."""
    from skneural._core import base as _base

    X, y = data(name, n=100)  # over 64 rows: the MLPs' numpy path for small inputs is skipped
    est = fit(name, X, y)
    expected = est.predict(X)
    sizes = []
    hook = est.module_.register_forward_pre_hook(lambda m, args: sizes.append(len(args[0])))
    monkeypatch.setattr(_base, "PREDICT_CHUNK_ELEMENTS", 8 * X.shape[1])
    try:
        chunked = est.predict(X)
    finally:
        hook.remove()
    assert max(sizes) == 8 and sum(sizes) == len(X)
    np.testing.assert_allclose(np.asarray(chunked, dtype=float), np.asarray(expected, dtype=float),
                               rtol=1e-6, atol=1e-9)


def fail_in_epoch_3(monkeypatch, action):
    """Run ``action(module)`` in epoch 3, hooked where the engine reads the epoch's gradients
    (once an epoch, just before the last step)."""
    from skneural._core import engine as _engine

    calls = {"n": 0}
    original = _engine._gradient_norms

    def hooked(module):
        calls["n"] += 1
        if calls["n"] == 3:
            action(module)
        return original(module)

    monkeypatch.setattr(_engine, "_gradient_norms", hooked)


@pytest.mark.parametrize("name", SUPERVISED)
def test_divergence_restores_finite_weights_for_every_family(name, monkeypatch):
    """A step that leaves NaN weights (what a diverging fit does) is undone, with a warning."""
    import torch

    from skneural._core.regularizers import decayed_parameters

    def poison(module):
        with torch.no_grad():
            decayed_parameters(module)[0].fill_(float("nan"))

    fail_in_epoch_3(monkeypatch, poison)
    X, y = data(name)
    est = FACTORIES[name](max_iter=20)
    with pytest.warns(ConvergenceWarning, match="non-finite"):
        est.fit(X, y)
    assert est.n_iter_ == 2
    assert all(torch.isfinite(p).all() for p in est.module_.parameters())
    assert np.isfinite(est.predict(X).astype(float)).all()


@pytest.mark.parametrize("name", SUPERVISED)
def test_interruption_keeps_a_usable_estimator_for_every_family(name, monkeypatch):
    def interrupt(module):
        raise KeyboardInterrupt

    fail_in_epoch_3(monkeypatch, interrupt)
    X, y = data(name)
    est = FACTORIES[name](max_iter=20)
    with pytest.warns(UserWarning, match="interrupted"):
        est.fit(X, y)
    assert est.n_iter_ == 2
    assert np.isfinite(est.predict(X).astype(float)).all()


@pytest.mark.parametrize("failure", ["interrupt", "diverge"])
def test_gan_survives_interruption_and_divergence(failure, monkeypatch):
    """The GAN's own two-optimizer loop keeps the same promises as the shared engine."""
    import torch

    from skneural._gan import training

    calls = {"n": 0}
    original = training.discriminator_loss

    def failing(*args, **kwargs):
        calls["n"] += 1
        loss = original(*args, **kwargs)
        if calls["n"] == 7:  # one Ctrl-C, or one step whose loss blows up
            if failure == "interrupt":
                raise KeyboardInterrupt
            return loss * float("nan")
        return loss

    monkeypatch.setattr(training, "discriminator_loss", failing)
    X, _ = data("GANSampler", n=64)
    gan = FACTORIES["GANSampler"](max_iter=20)
    expected = (UserWarning, "interrupted") if failure == "interrupt" else (
        ConvergenceWarning, "non-finite")
    with pytest.warns(expected[0], match=expected[1]):
        gan.fit(X)
    assert gan.n_iter_ < 20
    assert all(torch.isfinite(p).all() for p in gan.module_.parameters())
    assert np.isfinite(gan.sample(50, random_state=0)).all()


@pytest.mark.parametrize("rejection_sampling", [False, True])
def test_gan_samples_in_bounded_chunks(rejection_sampling, monkeypatch):
    from skneural._gan import sampling

    X, _ = data("GANSampler")
    gan = fit("GANSampler", X, None, rejection_sampling=rejection_sampling)
    monkeypatch.setattr(sampling, "SAMPLE_CHUNK", 16)
    monkeypatch.setattr(sampling, "BURN_IN", 32)
    sizes = []
    hook = gan.module_.sampler().register_forward_pre_hook(
        lambda m, args: sizes.append(len(args[0])))
    try:
        rows = gan.sample(3000, random_state=0)
    finally:
        hook.remove()
    assert rows.shape == (3000, X.shape[1]) and np.isfinite(rows).all()
    # without chunks, one rejection round would draw 6000 candidates at once
    assert max(sizes) <= (1000 if rejection_sampling else 16)
