"""GANSampler: sklearn compatibility, losses against oracles, encoding, sampling."""

import copy
import pathlib
import pickle
import subprocess
import sys
import textwrap

import numpy as np
import pandas as pd
import pytest
import torch
from scipy.spatial.distance import cdist

import skneural._gan.estimator as gan_estimator
from skneural import GANSampler
from skneural._gan.encoder import TabularEncoder, categorical_indices
from skneural._gan.modules import Discriminator, Generator
from skneural._gan.sampling import rejection_filter
from skneural._gan.training import GENERATOR_LOSSES, discriminator_loss, r1_penalty

SMALL = {"generator_hidden_layer_sizes": (16,), "discriminator_hidden_layer_sizes": (16,),
             "latent_dim": 4, "max_iter": 3, "batch_size": 32, "n_threads": 1}


def gan(**params):
    """A GANSampler on one torch thread (the test machine's cores are shared)."""
    return GANSampler(**{"n_threads": 1, **params})


def energy_distance(X, S):
    """Energy distance of rows ``S`` to rows ``X``, both standardized by ``X``'s columns.

    ``2 E|x - s| - E|x - x'| - E|s - s'|``: zero only for equal distributions.
    """
    mean, scale = X.mean(axis=0), X.std(axis=0)
    X, S = (X - mean) / scale, (S - mean) / scale
    return 2 * cdist(X, S).mean() - cdist(X, X).mean() - cdist(S, S).mean()


def one_step_fit(X, **params):
    """The same GANSampler fitted for a single generator step: an untrained reference."""
    return gan(**{**params, "max_iter": 1, "batch_size": len(X)}).fit(X)


# ------------------------------------------------------------------ losses
def test_losses_match_bernoulli_log_likelihood():
    torch.manual_seed(0)
    real, fake = torch.randn(50, dtype=torch.float64), torch.randn(50, dtype=torch.float64)
    bern_real = torch.distributions.Bernoulli(logits=real)
    bern_fake = torch.distributions.Bernoulli(logits=fake)
    # -V(G, D) = -(E log D(x) + E log(1 - D(G(z))))
    expected = -(bern_real.log_prob(torch.ones(50, dtype=torch.float64)).mean()
                 + bern_fake.log_prob(torch.zeros(50, dtype=torch.float64)).mean())
    torch.testing.assert_close(discriminator_loss(real, fake), expected)
    d_fake = torch.sigmoid(fake)
    torch.testing.assert_close(GENERATOR_LOSSES["minimax"](fake), torch.log1p(-d_fake).mean())
    torch.testing.assert_close(GENERATOR_LOSSES["non_saturating"](fake),
                               -torch.log(d_fake).mean())


def test_one_sided_label_smoothing_targets_only_real_rows():
    real, fake = torch.tensor([0.3, -1.2]), torch.tensor([0.5, 2.0])
    eps = 0.1
    bce = torch.nn.functional.binary_cross_entropy_with_logits
    expected = bce(real, torch.full((2,), 1 - eps)) + bce(fake, torch.zeros(2))
    torch.testing.assert_close(discriminator_loss(real, fake, eps), expected)


def test_r1_penalty_of_linear_discriminator_is_squared_weight_norm():
    D = Discriminator(3, 0, [4], 1, "identity", None, False).double()
    # identity activations: D(x) = w_eff . x + b, so grad_x D = w_eff for every row
    w_eff = (D.net.out.weight @ D.net.hidden[0][0].weight).squeeze(0)
    x = torch.randn(10, 3, dtype=torch.float64)
    torch.testing.assert_close(r1_penalty(D, x, None), w_eff.pow(2).sum())


def test_packing_concatenates_pac_rows():
    D = Discriminator(2, 0, [8], 3, "relu", None, False).double()
    x = torch.randn(6, 2, dtype=torch.float64)
    packed = D.net(torch.cat([x[0::1][:3].reshape(1, -1), x[3:].reshape(1, -1)]))
    torch.testing.assert_close(D(x), packed.squeeze(1))
    assert D(x).shape == (2,)


def test_spectral_norm_bounds_discriminator_layers():
    X = np.random.RandomState(0).normal(size=(200, 2)) * 10
    model = gan(random_state=0, max_iter=10, learning_rate_init=1e-2).fit(X)
    for layer in model.module_.discriminator.net.linear_layers():
        # one power iteration per step estimates sigma, so the bound is approximate
        assert 0.8 < torch.linalg.matrix_norm(layer.weight.detach(), ord=2) < 1.2


def test_rejection_filter_discards_low_density_ratio_rows():
    # logit = first column: half the rows are 10 nats less likely under the data
    rows = torch.cat([torch.zeros(500, 1), torch.full((500, 1), -10.0)]).double()
    keep, max_logit = rejection_filter(lambda r, c: r[:, 0], rows, None, 0.0,
                                       torch.Generator().manual_seed(0))
    assert max_logit == 0.0
    assert keep[:500].float().mean() > 0.2
    assert keep[500:].float().mean() < 0.01


def test_eval_generator_draws_categories_from_softmax_not_argmax():
    # output logits fixed at log([0.5, 0.3, 0.2]) whatever the noise: the
    # discriminator saw Gumbel-softmax draws from these probabilities in
    # training, so eval mode must draw from them too (an argmax would give
    # category 0 only, the mode collapse that cost the 5x5 grid its modes)
    G = Generator(2, 0, [4], 4, 1, [(1, 4)], False, "relu", None).double().eval()
    with torch.no_grad():
        G.net.out.weight.zero_()
        G.net.out.bias.copy_(torch.tensor([0.0, *np.log([0.5, 0.3, 0.2])]))
    z = torch.randn(20000, 2, dtype=torch.float64)
    with torch.no_grad():
        out, again = (G(z, None, torch.Generator().manual_seed(0)) for _ in range(2))
    assert torch.all(out[:, 1:].sum(dim=1) == 1)  # exact one-hots
    np.testing.assert_allclose(out[:, 1:].mean(dim=0).numpy(), [0.5, 0.3, 0.2], atol=0.015)
    torch.testing.assert_close(out, again)


# ---------------------------------------------------------------- encoding
@pytest.mark.parametrize("mode_specific", [True, False, "auto"])
def test_encoder_round_trip(mode_specific):
    rng = np.random.RandomState(0)
    X = np.column_stack([np.r_[rng.normal(-5, 0.1, 100), rng.normal(5, 0.1, 100)],
                         rng.exponential(3.0, 200)])
    enc = TabularEncoder([], mode_specific, np.random.RandomState(0)).fit(X)
    Z = enc.encode(X, np.float64)
    assert Z.shape == (200, enc.n_encoded)
    if mode_specific is True:
        peaks = enc.modes_[0][0] * enc.scale_[0] + enc.mean_[0]
        assert np.all(np.abs(np.abs(peaks) - 5) < 0.5)  # modes sit on the two peaks
        assert np.abs(Z[:, :2]).max() < 1
    np.testing.assert_allclose(enc.decode(Z, np.float64), X, atol=1e-9)


def test_auto_encoding_takes_modes_only_where_they_stand_apart():
    rng = np.random.RandomState(0)
    n = 600
    X = np.column_stack([
        np.r_[rng.normal(-5, 0.1, n // 2), rng.normal(5, 0.1, n // 2)],  # two clusters
        rng.lognormal(0.0, 0.8, n),                                      # skewed, one mode
        rng.randint(2003, 2010, n).astype(float),                        # seven repeated values
        rng.normal(0.0, 1.0, n),                                         # Gaussian
    ])
    enc = TabularEncoder([], "auto", np.random.RandomState(0)).fit(X)
    assert enc.mode_columns_ == [0, 2]
    assert enc.bounded == [True, False, True, False]
    Z = enc.encode(X, np.float64)
    assert Z.shape[1] == 4 + len(enc.modes_[0][0]) + len(enc.modes_[1][0])
    standardized = (X - X.mean(axis=0)) / X.std(axis=0)
    np.testing.assert_allclose(Z[:, [1, 3]], standardized[:, [1, 3]], atol=1e-12)
    assert np.abs(Z[:, [0, 2]]).max() < 1
    np.testing.assert_allclose(enc.decode(Z, np.float64), X, atol=1e-9)
    modes = enc.numeric_modes(Z)
    assert np.all(modes[:, [1, 3]] == 0) and len(np.unique(modes[:, 0])) == 2
    # an encoder saved before "auto" (no mode_columns_) encodes every column by mode
    old = TabularEncoder([], True, np.random.RandomState(0)).fit(X)
    del old.mode_columns_
    assert old.bounded == [True] * 4
    np.testing.assert_allclose(old.decode(old.encode(X, np.float64), np.float64), X, atol=1e-9)


def test_generator_bounds_only_the_mode_offsets():
    torch.manual_seed(0)
    gen = Generator(4, 0, [8], 3, 2, [], False, "relu", None).eval()
    # an "auto" encoder's mask: column 0 is a mode offset; the same weights
    mixed = Generator(4, 0, [8], 3, 2, [], [True, False], "relu", None).eval()
    mixed.load_state_dict(gen.state_dict())
    z = torch.randn(50, 4) * 10
    with torch.no_grad():
        raw = gen(z)
        out = mixed(z)
    assert raw[:, 0].abs().max() > 1
    np.testing.assert_allclose(out[:, 0], torch.tanh(raw[:, 0]), atol=1e-6)
    np.testing.assert_allclose(out[:, 1:], raw[:, 1:], atol=1e-6)


def test_categorical_detection_and_indices():
    df = pd.DataFrame({"a": [1.0, 2.0], "b": ["x", "y"], "c": pd.Categorical(["u", "v"]),
                       "d": [True, False], "e": [1, 2]})
    assert categorical_indices(df, "auto", 5) == [1, 2, 3]
    assert categorical_indices(df, ["e", "b"], 5) == [1, 4]
    assert categorical_indices(df.to_numpy(), [-1], 5) == [4]
    assert categorical_indices(df.to_numpy(), "auto", 5) == []
    with pytest.raises(ValueError, match="out of range"):
        categorical_indices(df.to_numpy(), [7], 5)
    with pytest.raises(ValueError, match="not columns"):
        categorical_indices(df, ["zz"], 5)


def test_dataframe_categories_come_back_valid_with_dtypes():
    rng = np.random.RandomState(0)
    df = pd.DataFrame({"num": rng.normal(10, 2, 300), "colour": rng.choice(["red", "blue"], 300),
                       "size": pd.Categorical(rng.choice(["S", "M", "L"], 300)),
                       "count": rng.randint(0, 4, 300)})
    model = gan(random_state=0, max_iter=5, **{k: v for k, v in SMALL.items()
                                                    if k != "max_iter"}).fit(df)
    assert model.categorical_features_ == [1, 2]
    out = model.sample(200, random_state=0)
    assert list(out.columns) == list(df.columns)
    assert set(out["colour"]) <= {"red", "blue"}
    assert out["size"].dtype == df["size"].dtype
    assert out["count"].dtype == df["count"].dtype
    assert np.isfinite(out["num"]).all()


def test_numpy_categorical_by_index_gives_seen_values():
    rng = np.random.RandomState(0)
    X = np.column_stack([rng.normal(size=100), rng.choice([3.0, 7.0, 11.0], 100)])
    model = gan(random_state=0, categorical_features=[1], **SMALL).fit(X)
    out = model.sample(100, random_state=0)
    assert set(np.unique(out[:, 1])) <= {3.0, 7.0, 11.0}


# ---------------------------------------------------------------- sampling
CENTRES = np.array([[5.0, -3.0], [-1.0, 1.0]])
SPREAD = np.array([0.5, 0.25])


def nearest_cluster(S):
    """Index of the nearest of ``CENTRES`` (in units of ``SPREAD``) for each row."""
    return np.linalg.norm((S[:, None, :] - CENTRES) / SPREAD, axis=2).argmin(axis=1)


def wrong_combinations(S):
    """Share of rows whose first column is nearest one cluster's centre and second another's."""
    first = np.abs(S[:, :1] - CENTRES[:, 0]).argmin(axis=1)
    second = np.abs(S[:, 1:] - CENTRES[:, 1]).argmin(axis=1)
    return np.mean(first != second)


def test_learns_location_and_scale():
    # Two clusters, 75% / 25%. After standardization both columns are
    # bimodal with unequal modes, and which mode one column takes fixes the
    # other's: a generator that has not learned the joint puts rows at the
    # wrong combinations and in the wrong proportions. (A single Gaussian
    # would not do: with the mode-specific encoding an untrained generator
    # already samples one well, and passed the old version of this test.)
    rng = np.random.RandomState(0)
    labels = (rng.rand(400) > 0.75).astype(int)
    X = CENTRES[labels] + SPREAD * rng.normal(size=(400, 2))
    params = {"random_state": 0, "generator_hidden_layer_sizes": (64, 64),
              "discriminator_hidden_layer_sizes": (64, 64), "learning_rate_init": 2e-3}
    model = gan(max_iter=60, batch_size=64, **params).fit(X)
    S = model.sample(1000, random_state=0)
    untrained_rows = one_step_fit(X, **params).sample(1000, random_state=0)
    trained, untrained = energy_distance(X, S), energy_distance(X, untrained_rows)
    assert trained < 0.1 and trained < 0.3 * untrained, (trained, untrained)
    # the joint: about a third of an untrained generator's rows are at wrong
    # combinations, 0.4-1.6% of the trained one's (seeds 0-3)
    wrong, wrong_untrained = wrong_combinations(S), wrong_combinations(untrained_rows)
    assert wrong < 0.05 and wrong < 0.2 * wrong_untrained, (wrong, wrong_untrained)
    cluster = nearest_cluster(S)
    assert abs(np.mean(cluster == 0) - 0.75) < 0.12
    for k in range(2):
        rows = S[cluster == k]
        assert np.all(np.abs(np.median(rows, axis=0) - CENTRES[k]) < 0.75 * SPREAD), k
        # the spread from the 16th-84th percentiles (one sd for a Gaussian): the few
        # rows at wrong combinations, bounded above, do not swamp it
        spread = (np.percentile(rows, 84, axis=0) - np.percentile(rows, 16, axis=0)) / 2
        ratio = spread / SPREAD
        assert np.all((ratio > 0.5) & (ratio < 2.0)), (k, ratio)


def test_conditional_sampling_draws_the_requested_class():
    rng = np.random.RandomState(0)
    X = np.r_[rng.normal(-4, 0.5, (150, 2)), rng.normal(4, 0.5, (50, 2))]
    y = np.array(["major"] * 150 + ["minor"] * 50)
    model = gan(random_state=0, max_iter=200, batch_size=64).fit(X, y)
    assert list(model.classes_) == ["major", "minor"]
    minority = model.sample(300, y="minor", random_state=0)
    assert np.mean(minority[:, 0] > 0) > 0.9
    rows, labels = model.sample(400, random_state=1, return_y=True)
    assert 0.15 < np.mean(labels == "minor") < 0.35  # training proportion 0.25
    agree = (rows[:, 0] > 0) == (labels == "minor")
    assert agree.mean() > 0.9


def test_random_state_reproducible_and_pickle():
    X = np.random.RandomState(0).normal(size=(100, 3))
    a = gan(random_state=0, **SMALL).fit(X)
    b = gan(random_state=0, **SMALL).fit(X)
    np.testing.assert_array_equal(a.sample(10, random_state=3), b.sample(10, random_state=3))
    assert not np.array_equal(a.sample(10, random_state=3), a.sample(10, random_state=4))
    c = pickle.loads(pickle.dumps(a))
    np.testing.assert_array_equal(a.sample(10, random_state=3), c.sample(10, random_state=3))
    assert a.sample(10, random_state=3).dtype == np.float64
    assert a.fit(X.astype(np.float32)).sample(4).dtype == np.float32


def test_loss_curves_and_progress(capsys):
    X = np.random.RandomState(0).normal(size=(64, 2))
    model = gan(random_state=0, verbose=True, **SMALL).fit(X)
    assert model.n_iter_ == 3
    assert len(model.loss_curve_["generator"]) == len(model.loss_curve_["discriminator"]) == 3
    assert "loss_D" in capsys.readouterr().err


@pytest.mark.parametrize("params, check", [
    ({"loss": "minimax", "label_smoothing": 0.2}, "distribution"),
    ({"gradient_penalty": 1.0, "instance_noise": 0.3, "discriminator_steps": 2,
      "discriminator_learning_rate": 4e-3}, "distribution"),
    # Without packing (nor the other stabilizers) the generator collapses onto
    # one of the two clusters for most seeds (5 of 6 tried): the mode collapse
    # PacGAN cures. It must still put its rows on the data. (The marginal
    # calibration would restore the missing cluster's share in each column
    # separately, pairing the columns' clusters at random: off the data.)
    ({"spectral_norm": False, "pac": 1, "generator_averaging": None,
      "learning_rate": "constant", "marginal_calibration": False}, "support"),
    # Standardized outputs (no mode blocks) blur two sharp clusters together;
    # the distribution as a whole must still be learned.
    ({"numeric_encoding": "standard", "generator_normalization": "batch"}, "distribution"),
])
def test_stabilizer_options_still_learn_the_location(params, check):
    # Two equal clusters on the anti-diagonal: an untrained generator puts
    # rows between them and at the empty corners (4, 4) and (-4, -4).
    centres = np.array([[4.0, -4.0], [-4.0, 4.0]])
    rng = np.random.RandomState(0)
    X = centres[rng.randint(2, size=300)] + 0.5 * rng.normal(size=(300, 2))
    params = {"random_state": 0, "generator_hidden_layer_sizes": (64, 64),
              "discriminator_hidden_layer_sizes": (64, 64), "learning_rate_init": 2e-3,
              **params}
    S = gan(max_iter=60, batch_size=64, **params).fit(X).sample(1000, random_state=0)
    reference = one_step_fit(X, **params).sample(1000, random_state=0)
    if check == "distribution":
        trained, untrained = energy_distance(X, S), energy_distance(X, reference)
        assert trained < 0.15 and trained < 0.5 * untrained, (trained, untrained)
    else:
        def on_data(rows):  # share of rows within 3 sd of a cluster centre
            return np.mean(cdist(rows, centres).min(axis=1) < 3 * 0.5)
        assert on_data(S) > 0.9 and on_data(S) > on_data(reference) + 0.3, \
            (on_data(S), on_data(reference))


def test_generator_average_keeps_no_share_of_the_initial_weights(monkeypatch):
    # 300 epochs of one step on 256 rows (the defaults before max_iter="auto").
    # A plain 0.999 average started from the initial generator would still
    # hold 0.999**300 = 74% of it (measured: 79%); the warmed-up decay leaves
    # the initial weights none.
    initial = {}
    train = gan_estimator.train_adversarial

    def keep_initial(est, module, data, cond):
        initial.update(copy.deepcopy(module.generator.state_dict()))
        train(est, module, data, cond)

    monkeypatch.setattr(gan_estimator, "train_adversarial", keep_initial)
    X = np.random.RandomState(0).normal(size=(256, 3))
    model = gan(random_state=0, rejection_sampling=False, max_iter=300).fit(X)
    assert model.n_iter_ == 300

    def flat(state):
        return torch.cat([v.detach().flatten().double() for v in state.values()])

    start, last = flat(initial), flat(model.module_.generator.state_dict())
    average = flat(model.module_.generator_average.state_dict())
    # least-squares share a in  average ~ a * start + (1 - a) * last
    share = float((average - last) @ (start - last) / (start - last).pow(2).sum())
    assert share < 0.05, share
    from skneural._gan.training import averaging_decay
    assert np.prod([averaging_decay(0.999, t) for t in range(300)]) < 1e-12


@pytest.mark.parametrize("normalization", [None, "layer", "batch"])
@pytest.mark.parametrize("conditional", [False, True])
def test_one_discriminator_call_gives_both_batches_logits_and_gradients(normalization,
                                                                         conditional):
    """discriminate() runs real and generated packs through one call: the logits and the
    loss's gradients are those of two separate calls (batch norm keeps two calls)."""
    from skneural._gan.training import discriminate

    torch.manual_seed(0)
    D = Discriminator(5, 3 if conditional else 0, [16, 8], 4, "leaky_relu", normalization,
                      False).double().train()
    real, fake = torch.randn(12, 5, dtype=torch.float64), torch.randn(12, 5, dtype=torch.float64)
    cond = torch.eye(3, dtype=torch.float64)[torch.arange(12) % 3] if conditional else None

    def loss_and_grads(pair):
        D.zero_grad()
        loss = discriminator_loss(*pair, label_smoothing=0.1)
        loss.backward()
        return pair, loss, [p.grad.clone() for p in D.parameters()]

    state = copy.deepcopy(D.state_dict())
    (r1, f1), loss1, grads1 = loss_and_grads(discriminate(D, real, fake, cond))
    D.load_state_dict(state)
    (r2, f2), loss2, grads2 = loss_and_grads((D(real, cond), D(fake, cond)))
    assert r1.shape == f1.shape == (3,)
    torch.testing.assert_close(r1, r2)
    torch.testing.assert_close(f1, f2)
    torch.testing.assert_close(loss1, loss2)
    for g1, g2 in zip(grads1, grads2):
        torch.testing.assert_close(g1, g2)


def test_fused_adam_trains_as_torch_optim_adam(monkeypatch):
    """The GAN's two optimizers are fused Adam: the same weights as torch.optim's default
    Adam after a few steps, up to float32 rounding."""
    import skneural._gan.training as training

    X = np.random.RandomState(0).normal(size=(64, 3))
    params = dict(SMALL, random_state=0, rejection_sampling=False, marginal_calibration=False)
    fused = gan(**params).fit(X)
    assert all(group.get("fused") for group in
               training.prefer_fused(torch.optim.Adam, [torch.zeros(1)]).param_groups)
    monkeypatch.setattr(training, "prefer_fused", lambda cls, params, **kw: cls(params, **kw))
    plain = gan(**params).fit(X)
    for name, value in fused.module_.state_dict().items():
        torch.testing.assert_close(value, plain.module_.state_dict()[name], rtol=1e-4,
                                   atol=1e-5, msg=name)
    assert not torch.equal(fused.module_.generator.net.out.weight,
                           gan(**{**params, "max_iter": 1}).fit(X).module_.generator.net.out.weight)


def test_batch_norm_generator_trains_on_one_row_batches():
    X = np.random.RandomState(0).normal(size=(5, 2))
    for rows, batch_size in ((X, 1), (X[:1], 256)):  # batch_size 1, or a 1-row table
        model = gan(random_state=0, generator_normalization="batch", pac=1,
                    batch_size=batch_size, **{k: v for k, v in SMALL.items()
                                              if k != "batch_size"}).fit(rows)
        assert np.isfinite(model.sample(5, random_state=0)).all()


NO_PANDAS = """
import importlib.abc, importlib.machinery, sys

class NoPandas(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    # every import of pandas fails as if it were not installed; sys.modules
    # keeps no 'pandas' entry (sklearn reads one set to None as a module)
    def find_spec(self, name, path, target=None):
        if name.partition(".")[0] == "pandas":
            return importlib.machinery.ModuleSpec(name, self)
    def create_module(self, spec):
        raise ModuleNotFoundError(f"No module named {spec.name!r}", name=spec.name)
    def exec_module(self, module):
        pass

sys.meta_path.insert(0, NoPandas())
"""


def test_works_without_pandas(tmp_path):
    rng = np.random.RandomState(0)
    frame = pd.DataFrame({"a": rng.normal(size=40), "b": rng.choice(["x", "y"], 40)})
    saved = tmp_path / "frame_model.pkl"
    saved.write_bytes(pickle.dumps(gan(random_state=0, **SMALL).fit(frame)))
    script = NO_PANDAS + textwrap.dedent(f"""
        import pickle
        import numpy as np
        import skneural
        from skneural import GANSampler
        small = dict(generator_hidden_layer_sizes=(8,), discriminator_hidden_layer_sizes=(8,),
                     latent_dim=2, max_iter=2, batch_size=20, n_threads=1, random_state=0)
        X = np.random.RandomState(0).normal(size=(40, 2))
        rows = GANSampler(**small).fit(X).sample(5, random_state=0)
        assert rows.shape == (5, 2) and np.isfinite(rows).all()
        mixed = np.empty((40, 2), dtype=object)
        mixed[:, 0], mixed[:, 1] = X[:, 0], np.where(X[:, 1] > 0, "u", "v")
        rows = GANSampler(categorical_features=[1], **small).fit(mixed).sample(5)
        assert set(rows[:, 1]) <= {{"u", "v"}}
        mixed[0, 1] = None
        try:
            GANSampler(categorical_features=[1], **small).fit(mixed)
            raise AssertionError("a missing category was accepted")
        except ValueError as exc:
            assert "missing" in str(exc)
        model = pickle.loads(open({str(saved)!r}, "rb").read())  # fitted on a DataFrame
        try:
            model.sample(3)
            raise AssertionError("a DataFrame came back without pandas")
        except ImportError as exc:
            assert "pip install skneural[pandas]" in str(exc), exc
        assert "pandas" not in sys.modules
        print("OK")
    """)
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                            timeout=300, cwd=pathlib.Path(__file__).resolve().parents[1])
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip() == "OK"


def test_rejection_sampling_returns_requested_rows():
    X = np.random.RandomState(0).normal(size=(200, 2))
    model = gan(random_state=0, rejection_sampling=True, max_iter=10).fit(X)
    assert model.module_.critic is not None
    assert model.sample(300, random_state=0).shape == (300, 2)
    plain = gan(random_state=0, max_iter=2, rejection_sampling=False).fit(X)
    plain.set_params(rejection_sampling=True)
    with pytest.raises(ValueError, match="rejection_sampling"):
        plain.sample(5)


# ------------------------------------------------------------------ errors
def test_bad_input_errors():
    X = np.random.RandomState(0).normal(size=(40, 2))
    model = gan(random_state=0, **SMALL).fit(X)
    with pytest.raises(ValueError, match="without y"):
        model.sample(3, y=1)
    with pytest.raises(ValueError, match="n_samples"):
        model.sample(0)
    with pytest.raises(ValueError, match="class labels"):
        gan(**SMALL).fit(X, np.linspace(0, 1, 40))
    cond = gan(random_state=0, **SMALL).fit(X, np.arange(40) % 2)
    with pytest.raises(ValueError, match="not in classes_"):
        cond.sample(3, y=5)
    with pytest.raises(ValueError, match="labels for n_samples"):
        cond.sample(3, y=[0, 1])
    with pytest.raises(ValueError, match="NaN|missing"):
        gan(**SMALL).fit(pd.DataFrame({"a": [1.0, 2.0], "b": ["x", None]}))


# ---------------------------------------------------------- training budget
def recorded_generator_steps(monkeypatch):
    """Patch the GAN's Adam factory: the generator optimizer's step size at each of its steps."""
    from skneural._gan import training

    rates, made, make = [], [], training._adam

    def adam(params, lr, est):
        opt = make(params, lr, est)
        made.append(opt)
        if len(made) == 1:  # the generator's optimizer is made first
            step = opt.step

            def recorded_step(*args, **kwargs):
                rates.append(opt.param_groups[0]["lr"])
                return step(*args, **kwargs)

            opt.step = recorded_step
        return opt

    monkeypatch.setattr(training, "_adam", adam)
    return rates


def test_default_budget_counts_generator_steps():
    model = GANSampler()
    assert model.max_iter == "auto" and model.batch_size == 256
    assert GANSampler._AUTO_STEPS == 3000
    assert (GANSampler._AUTO_MIN_EPOCHS, GANSampler._AUTO_MAX_EPOCHS) == (1, 3000)
    # the figures the docstring quotes: (rows per batch, epochs) for n rows
    assert model._resolve_budget(2500) == (256, 300)     # 10 steps an epoch
    assert model._resolve_budget(20000) == (256, 38)     # 79 steps an epoch: 3002
    assert model._resolve_budget(256) == (256, 3000)
    assert model._resolve_budget(100) == (100, 3000)     # one 100-row batch an epoch
    assert model._resolve_budget(10 ** 7) == (256, 1)    # at least one epoch
    assert GANSampler(pac=3)._resolve_budget(100) == (102, 3000)
    assert GANSampler(max_iter=7)._resolve_budget(20000) == (256, 7)


@pytest.mark.parametrize("steps, bounds, rows, batch_size, expected", [
    (12, (1, 3000), 100, 32, 3),   # 4 steps an epoch: ceil(12 / 4)
    (12, (1, 3000), 100, 16, 2),   # 7 steps an epoch: ceil(12 / 7), 14 steps
    (12, (1, 2), 10, 32, 2),       # one step an epoch: 12 epochs, capped at 2
    (1, (3, 3000), 100, 32, 3),    # one step's worth, raised to the minimum of 3 epochs
])
def test_auto_max_iter_resolves_to_the_step_budget(monkeypatch, steps, bounds, rows, batch_size,
                                                   expected):
    monkeypatch.setattr(GANSampler, "_AUTO_STEPS", steps)
    monkeypatch.setattr(GANSampler, "_AUTO_MIN_EPOCHS", bounds[0])
    monkeypatch.setattr(GANSampler, "_AUTO_MAX_EPOCHS", bounds[1])
    rates = recorded_generator_steps(monkeypatch)
    X = np.random.RandomState(0).normal(size=(rows, 2))
    params = {k: v for k, v in SMALL.items() if k not in ("max_iter", "batch_size")}
    model = gan(random_state=0, max_iter="auto", batch_size=batch_size, **params).fit(X)
    assert model.max_iter_ == model.n_iter_ == expected
    assert len(model.loss_curve_["generator"]) == expected
    assert model.batch_size_ == 4 * -(-min(batch_size, rows) // 4)  # a multiple of pac=4
    total = expected * -(-rows // model.batch_size_)
    assert len(rates) == total
    # the linear schedule runs over the resolved budget: lr * (1 - t / total)
    np.testing.assert_allclose(rates, 1e-3 * (1 - np.arange(total) / total))


def test_int_max_iter_counts_epochs(monkeypatch):
    monkeypatch.setattr(GANSampler, "_AUTO_STEPS", 1)  # an int ignores the auto budget
    rates = recorded_generator_steps(monkeypatch)
    X = np.random.RandomState(0).normal(size=(100, 2))
    model = gan(random_state=0, **SMALL).fit(X)  # 3 epochs of ceil(100 / 32) = 4 steps
    assert model.max_iter_ == model.n_iter_ == 3 and model.batch_size_ == 32
    assert len(rates) == 12
    np.testing.assert_allclose(rates, 1e-3 * (1 - np.arange(12) / 12))
    # the rejection critic trains a quarter of the generator's steps
    assert model.module_.critic is not None


@pytest.mark.parametrize("value", ["many", 0, -1, 2.5, None])
def test_invalid_max_iter_is_refused(value):
    X = np.random.RandomState(0).normal(size=(20, 2))
    params = {k: v for k, v in SMALL.items() if k != "max_iter"}
    with pytest.raises(ValueError, match="max_iter"):
        gan(max_iter=value, **params).fit(X)


def test_warm_start_resolves_auto_for_each_fit(monkeypatch):
    monkeypatch.setattr(GANSampler, "_AUTO_STEPS", 8)
    rng = np.random.RandomState(0)
    params = {k: v for k, v in SMALL.items() if k != "max_iter"}
    model = gan(random_state=0, warm_start=True, max_iter="auto", **params)
    model.fit(rng.normal(size=(64, 2)))           # 2 steps an epoch: 4 epochs
    module = model.module_
    assert model.max_iter_ == model.n_iter_ == 4
    model.fit(rng.normal(size=(256, 2)))          # 8 steps an epoch: 1 epoch
    assert model.module_ is module
    assert model.max_iter_ == model.n_iter_ == 1


def test_warm_start_continues_training_the_same_networks():
    X = np.random.RandomState(0).normal(size=(64, 2))
    model = gan(random_state=0, warm_start=True, **SMALL).fit(X)
    module = model.module_
    before = [p.detach().clone() for p in module.generator.parameters()]
    model.fit(X)
    assert model.module_ is module
    assert any(not torch.equal(a, b) for a, b in zip(before, module.generator.parameters()))


# ---------------------------------------------------------- marginal calibration
def test_logit_offsets_reach_the_target_shares_of_a_softmax_draw():
    # Oracle: rows draw a category from softmax(logits + bias) with fixed
    # logits; the offsets that give shares t are log t - logits (+ const).
    from skneural._gan.calibration import category_shares, fit_logit_bias

    logits = np.log([0.6, 0.3, 0.1])
    target = np.array([0.2, 0.3, 0.5])
    rng = np.random.RandomState(0)

    def draw(bias):
        p = np.exp(logits + bias[0])
        codes = rng.choice(3, size=20000, p=p / p.sum())
        return np.eye(3)[codes]

    groups = np.zeros(20000, dtype=int)
    bias, rows = fit_logit_bias(draw, [target[None]], [(0, 3)], np.zeros((1, 3)), groups)
    shares = category_shares(rows, [(0, 3)], groups, 1)[0][0]
    np.testing.assert_allclose(shares, target, atol=0.015)
    exact = np.log(target) - logits
    np.testing.assert_allclose(bias[0] - bias[0].mean(), exact - exact.mean(), atol=0.1)


def test_quantile_map_gives_the_training_marginal_and_keeps_ranks():
    from scipy.stats import expon, kstest

    from skneural._gan.calibration import apply_quantile_maps, fit_quantile_maps

    rng = np.random.RandomState(0)
    generated, train = rng.normal(size=(20000, 1)), rng.exponential(size=(3000, 1))
    zeros = np.zeros((20000, 1), dtype=int)
    maps = fit_quantile_maps(generated, zeros, zeros[:, 0], train, np.zeros((3000, 1), int),
                             np.zeros(3000, int), 1, 1)
    fresh = rng.normal(size=(5000, 1))
    mapped = apply_quantile_maps(fresh, zeros[:5000], np.zeros(5000, int), maps)
    assert kstest(mapped[:, 0], expon.cdf).statistic < 0.04
    assert np.array_equal(np.argsort(mapped[:, 0]), np.argsort(fresh[:, 0]))
    assert train.min() <= mapped.min() and mapped.max() <= train.max()


def skewed_table(n=600, seed=0):
    rng = np.random.RandomState(seed)
    income = rng.lognormal(3, 0.8, n)
    return pd.DataFrame({"income": income, "spend": 0.3 * income + rng.gamma(2, 3, n),
                         "tier": np.where(income > 30, "gold",
                                          np.where(rng.rand(n) < 0.2, "silver", "basic"))})


def shares(column):
    return pd.Series(column).value_counts(normalize=True)


@pytest.mark.parametrize("rejection", [True, False])
def test_calibrated_marginals_match_training_after_a_short_fit(rejection):
    from scipy.stats import ks_2samp

    X = skewed_table()
    model = gan(random_state=0, rejection_sampling=rejection, **SMALL).fit(X)
    calibrated = model.sample(4000, random_state=1)
    raw = model.set_params(marginal_calibration=False).sample(4000, random_state=1)
    for col in ["income", "spend"]:
        ks = ks_2samp(X[col], calibrated[col]).statistic
        assert ks < 0.06, (col, ks)
        assert ks < 0.5 * ks_2samp(X[col], raw[col]).statistic
        assert X[col].min() <= calibrated[col].min() <= calibrated[col].max() <= X[col].max()
    gap = shares(X["tier"]).subtract(shares(calibrated["tier"]), fill_value=0).abs().max()
    assert gap < 0.03, shares(calibrated["tier"])


def test_calibration_of_numeric_columns_keeps_each_columns_ranks():
    # no categorical column and one mode per column: the same draws, mapped monotonically
    X = np.random.RandomState(0).lognormal(size=(300, 2))
    model = gan(random_state=0, numeric_encoding="standard", **SMALL).fit(X)
    calibrated = model.sample(500, random_state=2)
    raw = model.set_params(marginal_calibration=False).sample(500, random_state=2)
    for j in range(2):
        assert np.array_equal(np.argsort(calibrated[:, j]), np.argsort(raw[:, j]))
    assert not np.allclose(calibrated, raw)


def test_conditional_fit_calibrates_each_class():
    from scipy.stats import ks_2samp

    rng = np.random.RandomState(0)
    X = np.r_[rng.exponential(1.0, (400, 1)), 10 + rng.exponential(3.0, (150, 1))]
    y = np.array(["a"] * 400 + ["b"] * 150)
    model = gan(random_state=0, **SMALL).fit(X, y)
    for label, rows in [("a", X[:400, 0]), ("b", X[400:, 0])]:
        sample = model.sample(2000, y=label, random_state=0)[:, 0]
        assert ks_2samp(rows, sample).statistic < 0.08, label


def test_calibration_needs_a_calibrated_fit_and_old_files_sample_uncalibrated():
    X = skewed_table(200)
    model = gan(random_state=0, marginal_calibration=False, **SMALL).fit(X)
    with pytest.raises(ValueError, match="marginal_calibration=True needs a fit"):
        model.set_params(marginal_calibration=True).sample(5)
    fitted = gan(random_state=0, **SMALL).fit(X)
    state = fitted.__getstate__()
    del state["_calibration"], state["marginal_calibration"]  # as saved before it existed
    old = GANSampler.__new__(GANSampler)
    old.__setstate__(state)
    assert old.marginal_calibration is False
    pd.testing.assert_frame_equal(
        old.sample(50, random_state=0),
        fitted.set_params(marginal_calibration=False).sample(50, random_state=0))
    again = pickle.loads(pickle.dumps(fitted.set_params(marginal_calibration=True)))
    pd.testing.assert_frame_equal(again.sample(50, random_state=0),
                                  fitted.sample(50, random_state=0))


def test_auto_threads_train_a_small_gan_on_one_thread(monkeypatch, two_threads):
    """GANSampler's default n_threads="auto": the step of SMALL networks is far under the
    threshold, so training runs on one thread; the wide default networks on a wide
    table are over it and keep torch's default."""
    import skneural._gan.training as training
    from skneural._core.device import AUTO_THREADS_MIN_FLOPS

    seen = []
    original = training.discriminator_loss

    def spy(*args, **kwargs):
        seen.append(torch.get_num_threads())
        return original(*args, **kwargs)

    monkeypatch.setattr(training, "discriminator_loss", spy)
    before = torch.get_num_threads()
    X = np.random.RandomState(0).normal(size=(64, 3))
    small = {k: v for k, v in SMALL.items() if k != "n_threads"}
    model = GANSampler(random_state=0, rejection_sampling=False, **small).fit(X)
    assert model.n_threads == "auto"
    assert training.step_flops(model.module_, model.batch_size_) < AUTO_THREADS_MIN_FLOPS
    assert set(seen) == {1} and torch.get_num_threads() == before
    seen.clear()
    wide = GANSampler(random_state=0, rejection_sampling=False, marginal_calibration=False,
                      max_iter=1).fit(np.random.RandomState(0).normal(size=(512, 40)))
    assert training.step_flops(wide.module_, wide.batch_size_) > AUTO_THREADS_MIN_FLOPS
    assert set(seen) == {before}
