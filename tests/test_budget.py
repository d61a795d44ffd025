"""The training budget counted in optimizer steps: ``max_iter="auto"`` and friends (issue 19)."""

import math

import numpy as np
import pytest

from skneural import (
    ConvNetClassifier,
    LSTMSequenceClassifier,
    MixtureDensityRegressor,
    MLPClassifier,
    MLPRegressor,
)
from skneural._core.engine import epochs_for_steps

from _estimators import FACTORIES, SUPERVISED, data

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


def test_epochs_for_steps_rounds_up_within_bounds():
    assert epochs_for_steps(2000, 7) == 286  # 286 * 7 = 2002 >= 2000 > 285 * 7
    assert epochs_for_steps(2000, 1, max_epochs=500) == 500
    assert epochs_for_steps(2000, 5000, min_epochs=10) == 10
    assert epochs_for_steps(100, 0) == 100  # an empty epoch counts as one step


@pytest.mark.parametrize("name", SUPERVISED)
@pytest.mark.parametrize("n", [24, 90])
def test_auto_max_iter_gives_the_same_steps_whatever_the_rows(name, n):
    """Small data gets more epochs, not fewer updates; ``max_iter_`` records the epochs."""
    X, y = data(name, n=n)
    est = FACTORIES[name](max_iter="auto", batch_size=8, n_iter_no_change=np.inf)
    est._AUTO_STEPS, est._AUTO_MIN_EPOCHS, est._AUTO_MAX_EPOCHS = 30, 2, 100
    est.fit(X, y)
    n_batches = math.ceil(n / 8)
    assert est.batch_size_ == 8
    assert est.max_iter_ == max(2, math.ceil(30 / n_batches))
    assert est.n_iter_ == est.max_iter_ and len(est.loss_curve_) == est.max_iter_
    # an int keeps sklearn's meaning: epochs
    assert FACTORIES[name](max_iter=2).fit(X, y).max_iter_ == 2


def test_auto_max_iter_is_bounded_in_epochs():
    X, y = data("MLPRegressor", n=24)
    est = FACTORIES["MLPRegressor"](max_iter="auto", batch_size=24, n_iter_no_change=np.inf)
    est._AUTO_STEPS, est._AUTO_MIN_EPOCHS, est._AUTO_MAX_EPOCHS = 1000, 1, 7
    assert est.fit(X, y).max_iter_ == 7
    est._AUTO_STEPS, est._AUTO_MIN_EPOCHS = 1, 4
    assert est.fit(X, y).max_iter_ == 4


def test_auto_patience_counts_steps_and_is_at_least_ten_epochs():
    X, y = data("MLPClassifier", n=80)
    est = FACTORIES["MLPClassifier"](n_iter_no_change="auto", batch_size=20)
    est._AUTO_PATIENCE_STEPS = 100
    assert est.fit(X, y).n_iter_no_change_ == 25  # 100 steps at 4 batches an epoch
    est._AUTO_PATIENCE_STEPS = 8
    assert est.fit(X, y).n_iter_no_change_ == 10
    assert FACTORIES["MLPClassifier"](n_iter_no_change=3).fit(X, y).n_iter_no_change_ == 3


def test_auto_patience_keeps_a_flat_loss_from_stopping_the_fit_early():
    """A loss that stops improving ends an int-patience fit, not one with step patience."""
    X, y = data("MLPRegressor", n=40)
    common = dict(max_iter=60, batch_size=40, tol=1e9)  # every epoch counts as no improvement
    short = FACTORIES["MLPRegressor"](n_iter_no_change=2, **common).fit(X, y)
    patient = FACTORIES["MLPRegressor"](n_iter_no_change="auto", **common)
    patient._AUTO_PATIENCE_STEPS = 50
    patient.fit(X, y)
    assert short.n_iter_ == 4  # the first epoch improves on inf, then 3 > 2 epochs without
    assert patient.n_iter_no_change_ == 50 and patient.n_iter_ == 52


def test_cosine_schedule_runs_over_the_resolved_budget():
    X, y = data("MLPClassifier", n=40)
    est = FACTORIES["MLPClassifier"](max_iter="auto", learning_rate="cosine", batch_size=10,
                                     n_iter_no_change=np.inf)
    est._AUTO_STEPS, est._AUTO_MIN_EPOCHS = 20, 1
    est.fit(X, y)
    assert est.max_iter_ == 5 and est.n_iter_ == 5
    assert est._optimizer.param_groups[0]["lr"] == pytest.approx(0.0, abs=1e-12)


def test_lbfgs_auto_max_iter_is_its_iteration_budget():
    X, y = data("MLPRegressor", n=40)
    est = FACTORIES["MLPRegressor"](solver="lbfgs", max_iter="auto", tol=0.0)
    est._AUTO_LBFGS_ITER = 4
    est.fit(X, y)
    assert est.max_iter_ == 4 and est.n_iter_ == 4


@pytest.mark.parametrize("value", ["automatic", 0, -1, 2.5])
def test_bad_max_iter_and_patience_are_refused(value):
    X, y = data("MLPClassifier")
    for name in ("max_iter", "n_iter_no_change"):
        with pytest.raises(ValueError, match=name):
            FACTORIES["MLPClassifier"](**{name: value}).fit(X, y)


def test_mlps_keep_sklearns_defaults():
    """The drop-ins keep sklearn's budget: 200 epochs, patience 10, batches of 200."""
    for cls in (MLPClassifier, MLPRegressor):
        params = cls().get_params()
        assert (params["max_iter"], params["n_iter_no_change"], params["batch_size"],
                params["learning_rate"], params["early_stopping"]) == (200, 10, "auto",
                                                                       "constant", False)


@pytest.mark.parametrize("cls", [MLPClassifier, MLPRegressor, MixtureDensityRegressor,
                                 ConvNetClassifier, LSTMSequenceClassifier])
def test_docstrings_state_each_estimators_own_defaults(cls):
    doc = cls.__doc__
    params = cls().get_params()
    for name in ("max_iter", "batch_size", "n_iter_no_change", "learning_rate", "clip_grad_norm"):
        shown = doc.split(f"\n    {name} : ", 1)[1].split("\n", 1)[0].rsplit("default=", 1)[1]
        assert shown == repr(params[name]).replace("'", '"'), name
    assert "[[" not in doc and "max_iter_" in doc and "batch_size_" in doc


def test_auto_solver_is_lbfgs_for_small_deterministic_fits_and_adam_otherwise():
    X, y = data("MLPRegressor", n=40)
    est = FACTORIES["MLPRegressor"](solver="auto")
    assert est.fit(X, y).solver_ == "lbfgs" and not hasattr(est, "loss_curve_")
    assert FACTORIES["MLPRegressor"](solver="auto", dropout=0.2).fit(X, y).solver_ == "adam"
    assert FACTORIES["MLPRegressor"](solver="auto", early_stopping=True).fit(X, y).solver_ == "adam"
    big = FACTORIES["MLPRegressor"](solver="auto")
    big._AUTO_LBFGS_MAX_ROWS = 39
    assert big.fit(X, y).solver_ == "adam"
    # partial_fit always steps a stochastic solver
    assert FACTORIES["MLPRegressor"](solver="auto").partial_fit(X, y).solver_ == "adam"
    # an explicit lbfgs still refuses a random objective
    with pytest.raises(ValueError, match="dropout"):
        FACTORIES["MLPRegressor"](solver="lbfgs", dropout=0.2).fit(X, y)
