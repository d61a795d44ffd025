"""GANSampler: sklearn compatibility, losses against oracles, encoding, sampling."""

import pickle

import numpy as np
import pandas as pd
import pytest
import torch

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
@pytest.mark.parametrize("mode_specific", [True, False])
def test_encoder_round_trip(mode_specific):
    rng = np.random.RandomState(0)
    X = np.column_stack([np.r_[rng.normal(-5, 0.1, 100), rng.normal(5, 0.1, 100)],
                         rng.exponential(3.0, 200)])
    enc = TabularEncoder([], mode_specific, np.random.RandomState(0)).fit(X)
    Z = enc.encode(X, np.float64)
    assert Z.shape == (200, enc.n_encoded)
    if mode_specific:
        peaks = enc.modes_[0][0] * enc.scale_[0] + enc.mean_[0]
        assert np.all(np.abs(np.abs(peaks) - 5) < 0.5)  # modes sit on the two peaks
        assert np.abs(Z[:, :2]).max() < 1
    np.testing.assert_allclose(enc.decode(Z, np.float64), X, atol=1e-9)


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
def test_learns_location_and_scale():
    rng = np.random.RandomState(0)
    X = rng.normal([5.0, -3.0], [2.0, 0.5], size=(500, 2))
    model = gan(random_state=0, max_iter=60).fit(X)
    S = model.sample(2000, random_state=0)
    assert np.all(np.abs(S.mean(axis=0) - X.mean(axis=0)) < 0.35 * X.std(axis=0))
    ratio = S.std(axis=0) / X.std(axis=0)
    assert np.all((ratio > 0.6) & (ratio < 1.4)), ratio


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


@pytest.mark.parametrize("params", [
    {"loss": "minimax", "label_smoothing": 0.2},
    {"gradient_penalty": 1.0, "instance_noise": 0.3, "discriminator_steps": 2,
         "discriminator_learning_rate": 4e-3},
    {"spectral_norm": False, "pac": 1, "generator_averaging": None, "learning_rate": "constant"},
    {"numeric_encoding": "standard", "generator_normalization": "batch"},
])
def test_stabilizer_options_still_learn_the_location(params):
    rng = np.random.RandomState(0)
    X = rng.normal([4.0, -4.0], 1.0, size=(300, 2))
    model = gan(random_state=0, max_iter=40, batch_size=64, **params).fit(X)
    S = model.sample(1000, random_state=0)
    np.testing.assert_allclose(S.mean(axis=0), [4.0, -4.0], atol=1.0)


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


def test_warm_start_continues_training_the_same_networks():
    X = np.random.RandomState(0).normal(size=(64, 2))
    model = gan(random_state=0, warm_start=True, **SMALL).fit(X)
    module = model.module_
    before = [p.detach().clone() for p in module.generator.parameters()]
    model.fit(X)
    assert model.module_ is module
    assert any(not torch.equal(a, b) for a, b in zip(before, module.generator.parameters()))
