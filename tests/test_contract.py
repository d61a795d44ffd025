"""The parameter contract: every constructor parameter acts as documented, or is refused.

For every estimator, every parameter in ``get_params()`` and each solver
family (stochastic, and ``lbfgs`` where the estimator has it), the table
below gives at least one non-default value the docstring allows. A fit with
it must either change the fitted model's output (predictions, probabilities,
the mixture, samples, or the fit's history: ``n_iter_``, ``loss_curve_``)
compared with the same fit at the default, or raise ``ValueError`` naming the
parameter. Parameters that change nothing observable in a small fit are
listed, each with its reason. A new parameter fails
``test_every_parameter_has_a_case`` until it is given a case here, so the
contract covers it automatically.
"""

import warnings
from dataclasses import dataclass, field

import numpy as np
import pytest

import skneural
from skneural._core.regularizers import decayed_parameters

STOCHASTIC, LBFGS = "stochastic", "lbfgs"
BOTH = (STOCHASTIC, LBFGS)


@dataclass
class Case:
    """A non-default ``value`` (or the first of ``OneOf`` that is not the default).

    ``context`` is set on both fits; ``expect`` is ``"changes"`` (the output
    differs), ``"raises"`` (``ValueError`` naming the parameter), ``"prints"``
    (something is printed) or ``"refit"`` (a second ``fit`` differs).
    """

    value: object
    context: dict = field(default_factory=dict)
    on: tuple = BOTH
    expect: str = "changes"


class OneOf(tuple):
    """Candidate values; the first that differs from the estimator's default is used."""


EARLY_STOPPING = {"early_stopping": True, "max_iter": 6, "n_iter_no_change": 1}


def constant_scorer(est, X, y):
    """A scorer under which no epoch improves on the first."""
    return 0.0


def rising_scorer(est, X, y):
    """A scorer under which every epoch improves on the one before."""
    return float(len(est.loss_curve_))


def layer_count_alphas(est):
    """One strength per weight layer of ``est``'s network (``layer_alphas``)."""
    return [0.5] * len(decayed_parameters(est.module_))


SGD = {"solver": "sgd"}
RANDOM_ON_LBFGS = Case(None, on=(LBFGS,), expect="raises")  # value filled from the stochastic case


def random_technique(value, context=None):
    """A technique drawing random numbers each step: acts on stochastic solvers, refused by lbfgs."""
    context = context or {}
    return [Case(value, context, on=(STOCHASTIC,)),
            Case(value, context, on=(LBFGS,), expect="raises")]


ENGINE = {
    "precision": [Case("bf16", on=(STOCHASTIC,)), Case("bf16", on=(LBFGS,), expect="raises")],
    "solver": [Case(v, on=(STOCHASTIC,))
               for v in ("sgd", "adamw", "adagrad", "rmsprop", "adadelta", "lbfgs")]
              + [Case(OneOf(("auto", "lbfgs")), on=(STOCHASTIC,))],  # "auto": lbfgs on 40 rows
    "alpha": [Case(OneOf((1.0, 0.01)))],
    "batch_size": [Case(7, on=(STOCHASTIC,))],
    "learning_rate": [Case(OneOf(("cosine", "constant")), on=(STOCHASTIC,)),
                      Case("invscaling", SGD, on=(STOCHASTIC,)),
                      Case("adaptive", {**SGD, "tol": 10.0, "n_iter_no_change": 1,
                                        "max_iter": 4}, on=(STOCHASTIC,))],
    "learning_rate_init": [Case(0.01, on=(STOCHASTIC,))],
    "power_t": [Case(0.25, {**SGD, "learning_rate": "invscaling"}, on=(STOCHASTIC,))],
    "max_iter": [Case(2)],
    "shuffle": [Case(False, {"batch_size": 10}, on=(STOCHASTIC,))],
    "random_state": [Case(1)],
    "tol": [Case(10.0, {"n_iter_no_change": 1, "max_iter": 6}, on=(STOCHASTIC,)),
            Case(10.0, on=(LBFGS,))],
    "verbose": [Case(True, expect="prints")],
    "warm_start": [Case(True, expect="refit")],
    "momentum": [Case(0.5, SGD, on=(STOCHASTIC,)),
                 Case(0.5, {"solver": "rmsprop"}, on=(STOCHASTIC,))],
    "nesterovs_momentum": [Case(False, SGD, on=(STOCHASTIC,))],
    "early_stopping": [Case(True, on=(STOCHASTIC,))],
    "validation_fraction": [Case(0.3, {"early_stopping": True}, on=(STOCHASTIC,))],
    "beta_1": [Case(0.5, on=(STOCHASTIC,))],
    "beta_2": [Case(0.9, on=(STOCHASTIC,))],
    "epsilon": [Case(1e-2, on=(STOCHASTIC,))],
    "n_iter_no_change": [Case(1, {"tol": 10.0, "max_iter": 6}, on=(STOCHASTIC,))],
    "max_fun": [Case(2, {"max_iter": 20}, on=(LBFGS,))],
    "clip_grad_norm": [Case(1e-3, on=(STOCHASTIC,))],
    # a constant score stops at the first chance, where the validation loss goes on
    # improving (regressors' default "loss"); see CLASSIFIER for the classifiers' default
    "scoring": [Case(lambda baseline: constant_scorer, EARLY_STOPPING, on=(STOCHASTIC,))],
    "weight_averaging": [Case("swa", {"averaging_start": 1}, on=(STOCHASTIC,)),
                         Case("ema", {"averaging_start": 1, "averaging_decay": 0.5},
                              on=(STOCHASTIC,)),
                         Case("swa", on=(LBFGS,), expect="raises")],
    "averaging_start": [Case(1, {"weight_averaging": "swa"}, on=(STOCHASTIC,))],
    "averaging_decay": [Case(0.5, {"weight_averaging": "ema", "averaging_start": 1},
                             on=(STOCHASTIC,))],
}

CLASSIFIER = {
    "class_weight": [Case({0: 1.0, 1: 3.0})],
    # the default's accuracy is flat on 4 validation rows and stops at the first chance;
    # a score rising every epoch goes on to max_iter
    "scoring": [Case(lambda baseline: rising_scorer, EARLY_STOPPING, on=(STOCHASTIC,))],
}

REGULARIZATION = {
    "mc_dropout": [Case(3, {"dropout": 0.3}, on=(STOCHASTIC,)),
                   Case(3, on=(LBFGS,), expect="raises")],
    "alpha_l1": [Case(0.05)],
    "alpha_lp": [Case(0.05)],
    "lp_exponent": [Case(0.3, {"alpha_lp": 0.05})],
    "layer_alphas": [Case(layer_count_alphas)],
    "soft_sharing": [Case(0.1)],
    "soft_sharing_components": [Case(4, {"soft_sharing": 0.1})],
    "jacobian_penalty": [Case(0.5)],
    "input_noise": random_technique(0.2),
    "weight_noise": random_technique(0.05),
    "dropconnect": random_technique(0.3),
    "adversarial": random_technique(0.5),
    "adversarial_eps": [Case(0.3, {"adversarial": 0.5}, on=(STOCHASTIC,))],
    "penalty_start_epoch": [Case(2, {"alpha": 1.0}, on=(STOCHASTIC,)),
                            Case(2, on=(LBFGS,), expect="raises")],
    "label_smoothing": [Case(0.2)],
}

DENSE = {
    "hidden_layer_sizes": [Case((5,))],
    "activation": [Case(OneOf(("tanh", "relu")))],
    "dropout": random_technique(0.3),
    "batch_norm": [Case(True)],
    "normalization": [Case("layer")],
    "init": [Case("normal")],
    # the last column's 40 distinct values become 40 categories, read through an embedding
    "categorical_features": [Case(OneOf(([3], None)))],
    "embedding_dim": [Case(2, {"categorical_features": [3]})],
}

COMMON = {**ENGINE, **REGULARIZATION}

#: parameters whose defaults may draw random numbers every step (ConvNet's dropout, augmentation)
RANDOM_DEFAULTS = ("dropout", "shift", "rotation", "scale")
DETERMINISTIC_CONVNET = dict.fromkeys(RANDOM_DEFAULTS, 0)

SPECIFIC = {
    "MLPClassifier": {**DENSE, **CLASSIFIER},
    "MLPRegressor": {**DENSE, "loss": [Case("poisson")], "scale_target": [Case(False)]},
    "MixtureDensityRegressor": {
        **DENSE, "n_components": [Case(3)], "component": [Case("generalized_normal")],
        "covariance_type": [Case("spherical")],
        "std_transform": [Case("softplus")], "min_std": [Case(0.1)],
        "n_estimators": [Case(2)], "scale_target": [Case(False)],
        "noise_regularization": random_technique("auto") + random_technique(0.2),
        "dequantize": random_technique(0.5),
    },
    "ConvNetClassifier": {
        # the defaults' dropout and augmentation make lbfgs refuse and "auto" pick adam
        "solver": [case for case in ENGINE["solver"] if case.value not in ("lbfgs", ("auto", "lbfgs"))]
        + [Case("lbfgs", on=(STOCHASTIC,), expect="raises")]
        + [Case(v, DETERMINISTIC_CONVNET, on=(STOCHASTIC,)) for v in ("lbfgs", "auto")],
        # with dropout and augmentation the short fit's loss rises and stops at any tol
        "tol": [Case(10.0, {"n_iter_no_change": 1, "max_iter": 6, **DETERMINISTIC_CONVNET},
                     on=(STOCHASTIC,)), Case(10.0, on=(LBFGS,))],
        "filters": [Case((3,))], "kernel_size": [Case(2)], "dilation": [Case(2)],
        "residual": [Case(True)], "normalization": [Case(OneOf(("batch", None)))],
        "pooling": [Case("avg")], "spatial_dropout": random_technique(0.3),
        "global_pooling": [Case(True)], "hidden_layer_sizes": [Case((4,))],
        "dropout": random_technique(OneOf((0.3, 0.1))), "activation": [Case("tanh")],
        "init": [Case("normal")], "input_shape": [Case((16,))], "spatial_dims": [Case(1)],
        "shift": random_technique(1), "rotation": random_technique(30.0),
        "scale": random_technique(0.2), "horizontal_flip": random_technique(True),
        "vertical_flip": random_technique(True), "noise": random_technique(0.1),
        "tangent_prop": [Case(0.1)], **CLASSIFIER,
    },
    "LSTMSequenceClassifier": {
        "hidden_size": [Case(3)], "num_layers": [Case(2)], "bidirectional": [Case(True)],
        "dropout": random_technique(0.3), "summary": [Case("mean")],
        "conv_channels": [Case((3,))],
        "conv_kernel_sizes": [Case(2, {"conv_channels": (3,)})],
        "layer_norm": [Case(True)],
        "conv_layout": [Case("stacked", {"conv_channels": (3,)})],
        "squeeze_excite": [Case(2, {"conv_channels": (4, 3)})],
        "standardize": [Case(None), Case("timestep")],
        "input_shape": [Case((5, 2), {"_flat": True})],
        "clip_grad_norm": [Case(1e-3, on=(STOCHASTIC,))], **CLASSIFIER,
    },
    "GANSampler": {
        "generator_hidden_layer_sizes": [Case((4,))],
        "discriminator_hidden_layer_sizes": [Case((4,))],
        "latent_dim": [Case(3)],
        "generator_activation": [Case("tanh")],
        "discriminator_activation": [Case("tanh")],
        "generator_normalization": [Case("batch"), Case("layer")],
        "discriminator_normalization": [Case("layer")],
        "loss": [Case("minimax")],
        "pac": [Case(2)],
        "spectral_norm": [Case(False)],
        "gradient_penalty": [Case(1.0)],
        "label_smoothing": [Case(0.2)],
        "instance_noise": [Case(0.1)],
        "discriminator_steps": [Case(2)],
        "learning_rate": [Case("constant")],
        "learning_rate_init": [Case(0.01)],
        "discriminator_learning_rate": [Case(0.01)],
        "generator_averaging": [Case(None), Case(0.5)],
        "rejection_sampling": [Case(False)],
        "marginal_calibration": [Case(False)],
        "categorical_features": [Case([2])],
        "numeric_encoding": [Case("standard"), Case("mode_specific")],
        "batch_size": [Case(8)],
        "max_iter": [Case(2)],
        "beta_1": [Case(0.9)],
        "beta_2": [Case(0.9)],
        "epsilon": [Case(1e-2)],
        "random_state": [Case(1)],
        "verbose": [Case(True, expect="prints")],
        "warm_start": [Case(True, expect="refit")],
        "precision": [Case("bf16")],
    },
}

#: parameters that change nothing observable here, with the reason (every family)
EXEMPT = {
    "device": "only 'cpu' exists on CI; the device check script covers 'cuda' (issue 24)",
    "n_threads": "the thread count changes the speed only (results are seeded and equal)",
    "deterministic": "the CPU's kernels are deterministic already, so fits are bitwise equal "
                     "(test_device.py); gpu_check.py checks its effect on CUDA",
}

#: (family, parameter) pairs a family does not use, as sklearn documents for its MLP
NOT_USED = {
    **{(LBFGS, name): "a stochastic solver's own parameter; sklearn's lbfgs ignores it too"
       for name in ("batch_size", "learning_rate", "learning_rate_init", "power_t", "shuffle",
                    "momentum", "nesterovs_momentum", "early_stopping",
                    "validation_fraction", "beta_1", "beta_2", "epsilon",
                    "n_iter_no_change", "clip_grad_norm", "scoring")},
    **{(LBFGS, name): "used only with weight_averaging, which lbfgs refuses"
       for name in ("averaging_start", "averaging_decay")},
    (STOCHASTIC, "max_fun"): "L-BFGS's evaluation budget; sklearn's stochastic solvers ignore it",
    (LBFGS, "adversarial_eps"): "used only with adversarial > 0, which lbfgs refuses",
    (LBFGS, "solver"): "the family itself: solver='lbfgs' is a stochastic-family case",
}

SMALL = {  # the network each estimator's fits use here
    "MLPClassifier": dict(hidden_layer_sizes=(6,)),
    "MLPRegressor": dict(hidden_layer_sizes=(6,)),
    "MixtureDensityRegressor": dict(hidden_layer_sizes=(6,), n_components=2),
    "ConvNetClassifier": dict(input_shape=(4, 4), filters=(4,), hidden_layer_sizes=(6,)),
    "LSTMSequenceClassifier": dict(hidden_size=4),
    "GANSampler": dict(generator_hidden_layer_sizes=(6,), discriminator_hidden_layer_sizes=(6,),
                       latent_dim=2, batch_size=16),
}
ESTIMATORS = {name: (getattr(skneural, name), small) for name, small in SMALL.items()}
FAST = dict(max_iter=3, n_threads=1, random_state=0)


def families(name):
    return (STOCHASTIC,) if name == "GANSampler" else BOTH


def cases_for(name, param):
    table = {**COMMON, **SPECIFIC.get(name, {})} if name != "GANSampler" else SPECIFIC[name]
    return table.get(param, [])


def dataset(name, flat=False):
    rng = np.random.RandomState(0)
    if name == "ConvNetClassifier":
        X = rng.normal(size=(40, 16))
    elif name == "LSTMSequenceClassifier":
        X = rng.normal(size=(40, 5, 2))
        X = X.reshape(40, 10) if flat else X
    elif name == "GANSampler":
        X = rng.normal(size=(64, 3))
        X[:, 2] = rng.randint(0, 3, 64)
        return X, None
    else:
        X = rng.normal(size=(40, 4))
    first = X.reshape(40, -1)[:, 0]
    if name in ("MLPClassifier", "ConvNetClassifier", "LSTMSequenceClassifier"):
        return X, (first > np.median(first)).astype(int)
    if name == "MLPRegressor":
        return X, np.exp(0.5 * first)  # positive, for loss="poisson"
    return X, np.column_stack([first, first * X[:, 1]])  # two outputs: spherical != diag


def make(name, family, context, **params):
    cls, small = ESTIMATORS[name]
    base = {**small, **FAST}
    defaults = cls().get_params()
    if family == LBFGS:
        # lbfgs refuses random objectives: defaults that draw random numbers are turned off
        base.update({p: 0 for p in RANDOM_DEFAULTS if defaults.get(p) not in (None, 0)})
        base["solver"] = "lbfgs"
    elif defaults.get("solver") == "auto":  # the stochastic family steps with adam
        base["solver"] = "adam"
    return cls(**{**base, **context, **params})


def fit(est, X, y):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return est.fit(X) if y is None else est.fit(X, y)


def signature(est, X):
    """Everything a user can observe of a fit: its outputs and its history."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if isinstance(est, skneural.GANSampler):
            out = [np.asarray(est.sample(20, random_state=0), dtype=float)]
            history = [est.loss_curve_["generator"], est.loss_curve_["discriminator"]]
        elif isinstance(est, skneural.MixtureDensityRegressor):
            out = list(est.predict_mixture(X))
            history = [getattr(est, "loss_curve_", None), [est.loss_]]
        elif hasattr(est, "predict_proba"):
            out = [est.predict_proba(X)]
            history = [getattr(est, "loss_curve_", None), [est.loss_]]
        else:
            out = [est.predict(X)]
            history = [getattr(est, "loss_curve_", None), [est.loss_]]
    return out, [est.n_iter_] + [list(h) for h in history if h is not None]


def same(a, b):
    out_a, hist_a = a
    out_b, hist_b = b
    if len(out_a) != len(out_b) or any(x.shape != y.shape for x, y in zip(out_a, out_b)):
        return False
    return all(np.array_equal(x, y) for x, y in zip(out_a, out_b)) and hist_a == hist_b


def resolve(value, default, baseline):
    if isinstance(value, OneOf):
        return next(v for v in value if v != default)
    if callable(value):
        return value(baseline)
    return value


def all_cases():
    for name, (cls, _) in ESTIMATORS.items():
        for param in sorted(cls().get_params()):
            for i, case in enumerate(cases_for(name, param)):
                for family in case.on:
                    if family in families(name):
                        yield pytest.param(name, param, i, family,
                                           id=f"{name}-{param}-{i}-{family}")


@pytest.mark.parametrize("name", ESTIMATORS)
def test_every_parameter_has_a_case(name):
    cls, _ = ESTIMATORS[name]
    missing = []
    for param in cls().get_params():
        if param in EXEMPT:
            continue
        for family in families(name):
            covered = any(family in case.on for case in cases_for(name, param))
            if not covered and (family, param) not in NOT_USED:
                missing.append((param, family))
    assert not missing, f"{name}: give these parameters a case in test_contract.py: {missing}"


_BASELINES = {}


def baseline(name, family, context):
    key = (name, family, repr(sorted(context.items())))
    if key not in _BASELINES:
        X, y = dataset(name, flat=context.get("_flat", False))
        est = fit(make(name, family, _plain(context)), X, y)
        _BASELINES[key] = (est, signature(est, X))
    return _BASELINES[key]


def _plain(context):
    return {k: v for k, v in context.items() if not k.startswith("_")}


@pytest.mark.parametrize("name, param, index, family", list(all_cases()))
def test_parameter_acts_or_is_refused(name, param, index, family, capfd):
    case = cases_for(name, param)[index]
    cls, _ = ESTIMATORS[name]
    default = cls().get_params()[param]
    X, y = dataset(name, flat=case.context.get("_flat", False))
    context = _plain(case.context)

    if case.expect == "raises":
        value = resolve(case.value, default, None)
        with pytest.raises(ValueError, match=param):
            fit(make(name, family, context, **{param: value}), X, y)
        return

    base_est, base_sig = baseline(name, family, case.context)
    value = resolve(case.value, default, base_est)
    assert value != default
    if case.expect == "prints":
        capfd.readouterr()
        fit(make(name, family, context), X, y)
        quiet = capfd.readouterr()
        fit(make(name, family, context, **{param: value}), X, y)
        loud = capfd.readouterr()
        assert not (quiet.out + quiet.err) and (loud.out + loud.err), param
        return
    if case.expect == "refit":
        plain = fit(fit(make(name, family, context), X, y), X, y)
        warm = fit(fit(make(name, family, context, **{param: value}), X, y), X, y)
        assert not same(signature(plain, X), signature(warm, X)), param
        return
    variant = fit(make(name, family, context, **{param: value}), X, y)
    assert not same(base_sig, signature(variant, X)), (
        f"{name}({param}={value!r}) on the {family} solvers fitted the same model as the "
        "default: the parameter is ignored")
