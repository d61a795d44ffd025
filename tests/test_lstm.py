"""LSTMSequenceClassifier: padding invisibility, clipping, variants (sklearn's checks: test_common)."""

import numpy as np
import pytest
import torch
from torch.optim.optimizer import register_optimizer_step_pre_hook

from skneural import LSTMSequenceClassifier


def _ragged(n=40, n_features=2, seed=0, low=3, high=12):
    """Variable-length sequences; the label is the sign of the first feature's sum."""
    rng = np.random.RandomState(seed)
    X = [rng.randn(rng.randint(low, high), n_features) for _ in range(n)]
    y = np.array(["pos" if x[:, 0].sum() > 0 else "neg" for x in X])
    return X, y


# a plain LSTM read at its last state (the tests that need conv blocks or another summary
# say so); the defaults' LSTM-FCN is tested in test_defaults_* below
FAST = {"hidden_size": 6, "conv_channels": None, "summary": "last", "max_iter": 5,
        "n_threads": 1, "random_state": 0}


def lstm(**params):
    """An ``LSTMSequenceClassifier`` of ``FAST`` with ``params`` on top."""
    return LSTMSequenceClassifier(**{**FAST, **params})


@pytest.mark.parametrize("params", [
    {"summary": "last"},
    {"summary": "last", "bidirectional": True, "num_layers": 2, "layer_norm": True},
    {"summary": "mean", "bidirectional": True},
    {"summary": "max", "conv_channels": (4, 5), "conv_kernel_sizes": (4, 3)},
    {"summary": "max", "conv_channels": (4, 6, 5), "conv_kernel_sizes": (4, 3, 2), "squeeze_excite": 2},
    {"summary": "last", "conv_channels": (4, 5), "conv_kernel_sizes": (4, 3), "conv_layout": "stacked"},
    {"summary": "last", "bidirectional": True, "conv_channels": (3,), "conv_kernel_sizes": 5,
         "standardize": "timestep"},
])
def test_padding_is_invisible(params):
    X, y = _ragged()
    clf = lstm(**params).fit(X, y)
    batch = clf.predict_proba(X)
    longest = int(np.argmax([len(x) for x in X]))
    for i in range(8):
        alone = clf.predict_proba([X[i]])
        with_longer = clf.predict_proba([X[i], X[longest]])[:1]
        np.testing.assert_allclose(alone, batch[i:i + 1], rtol=1e-10, atol=1e-13)
        np.testing.assert_allclose(alone, with_longer, rtol=1e-10, atol=1e-13)


@pytest.mark.parametrize("params", [
    {"summary": "last"},
    {"summary": "mean", "num_layers": 2, "layer_norm": True, "dropout": 0.3},
    {"summary": "max", "conv_channels": (4,), "conv_kernel_sizes": (3,), "conv_layout": "stacked"},
    {"summary": "last", "bidirectional": True, "num_layers": 2},
])
def test_padded_unidirectional_run_matches_packing(params, monkeypatch):
    """Unpacked unidirectional layers: packing's outputs and gradients, exactly."""
    from skneural._lstm.modules import LSTMSequenceNet

    torch.manual_seed(0)
    kwargs = {k: v for k, v in params.items() if k != "conv_kernel_sizes"}
    net = LSTMSequenceNet(2, 3, hidden_size=5, conv_kernel_sizes=params.get("conv_kernel_sizes", ()),
                          **kwargs).double().train()
    x = torch.randn(6, 9, 2, dtype=torch.float64)
    lengths = torch.tensor([9, 3, 5, 1, 8, 2])
    x[torch.arange(9)[None, :] >= lengths[:, None]] = 0.0  # zero padding, as the estimator pads
    target = torch.tensor([0, 1, 2, 0, 1, 2])

    def run(pack):
        monkeypatch.setattr(LSTMSequenceNet, "PACK_UNIDIRECTIONAL", pack)
        net.zero_grad()
        torch.manual_seed(1)  # the same dropout masks on both paths
        out = net(x, lengths)
        torch.nn.functional.cross_entropy(out, target).backward()
        return out.detach(), [p.grad.clone() for p in net.parameters()]

    out, grads = run(False)
    ref, ref_grads = run(True)
    np.testing.assert_allclose(out, ref, rtol=1e-10, atol=1e-12)
    for g, r in zip(grads, ref_grads):
        np.testing.assert_allclose(g, r, rtol=1e-9, atol=1e-12)
    assert any(g.abs().sum() > 0 for g in grads)


def test_equal_length_layouts_agree():
    rng = np.random.RandomState(1)
    X3 = rng.randn(30, 7, 2)
    y = (X3[:, :, 1].mean(axis=1) > 0).astype(int)
    ref = lstm().fit(X3, y).predict_proba(X3)
    as_list = lstm().fit(list(X3), y).predict_proba(list(X3))
    flat = lstm(input_shape=(7, 2)).fit(X3.reshape(30, 14), y)
    np.testing.assert_array_equal(as_list, ref)
    np.testing.assert_allclose(flat.predict_proba(X3.reshape(30, 14)), ref, rtol=1e-12)
    assert flat.n_features_in_ == 14 and flat.n_channels_ == 2 and flat.n_timesteps_ == 7
    # 2-D rows without input_shape are univariate sequences, the same as (n, T, 1)
    X2 = X3[:, :, 0]
    uni = lstm().fit(X2, y)
    np.testing.assert_allclose(uni.predict_proba(X2), lstm().fit(
        X2[:, :, None], y).predict_proba(X2[:, :, None]), rtol=1e-12)
    assert uni.n_features_in_ == 7 and uni.n_channels_ == 1


def _lstm_oracle(lstm, x):
    """Textbook LSTM recursion in numpy: gates i, f, o, candidate g, C_t = f*C + i*g."""
    H = lstm.hidden_size
    W_ih, W_hh = lstm.weight_ih_l0.detach().numpy(), lstm.weight_hh_l0.detach().numpy()
    b = (lstm.bias_ih_l0 + lstm.bias_hh_l0).detach().numpy()
    sig = lambda z: 1.0 / (1.0 + np.exp(-z))
    h, c = np.zeros(H), np.zeros(H)
    for x_t in x:
        z = W_ih @ x_t + W_hh @ h + b
        i, f, g, o = sig(z[:H]), sig(z[H:2 * H]), np.tanh(z[2 * H:3 * H]), sig(z[3 * H:])
        c = f * c + i * g
        h = o * np.tanh(c)
    return h


def test_last_state_matches_textbook_lstm_and_standardization():
    X, y = _ragged(n=20, seed=3)
    clf = lstm().fit(X, y)
    steps = np.concatenate(X)
    mean, std = steps.mean(axis=0), steps.std(axis=0)
    np.testing.assert_allclose(clf._x_mean, mean, rtol=1e-12)
    np.testing.assert_allclose(clf._x_scale, std, rtol=1e-12)
    net = clf.module_
    for x in X[:5]:
        h = _lstm_oracle(net.lstms[0], (x - mean) / std)
        logit = net.out.weight.detach().numpy() @ h + net.out.bias.detach().numpy()
        expected = 1.0 / (1.0 + np.exp(-logit[0]))
        np.testing.assert_allclose(clf.predict_proba([x])[0, 1], expected, rtol=1e-10)


def test_standardize_makes_fit_invariant_to_feature_scale():
    X, y = _ragged(n=30, seed=4)
    scaled = [x * np.array([100.0, 0.01]) + np.array([5.0, -3.0]) for x in X]
    for standardize, same in [("feature", True), ("timestep", True), (None, False)]:
        a = lstm(standardize=standardize).fit(X, y).predict_proba(X)
        b = lstm(standardize=standardize).fit(scaled, y)
        close = np.allclose(a, b.predict_proba(scaled), rtol=1e-6, atol=1e-9)
        assert close == same, standardize


def test_masked_batch_norm_uses_valid_steps_only():
    from skneural._lstm.modules import MaskedBatchNorm1d

    torch.manual_seed(0)
    x = torch.randn(3, 4, 6, dtype=torch.float64)
    lengths = torch.tensor([6, 2, 4])
    mask = (torch.arange(6)[None, :] < lengths[:, None])[:, None, :].double()
    x = x * mask + 100.0 * (1 - mask)  # padding values must not matter
    masked, plain = MaskedBatchNorm1d(4).double(), torch.nn.BatchNorm1d(4).double()
    out = masked(x, mask)
    valid = torch.cat([x[b, :, :n] for b, n in enumerate(lengths.tolist())], dim=1)  # (C, N)
    expected = plain(valid.T).T
    got = torch.cat([out[b, :, :n] for b, n in enumerate(lengths.tolist())], dim=1)
    torch.testing.assert_close(got, expected)
    torch.testing.assert_close(masked.running_mean, plain.running_mean)
    torch.testing.assert_close(masked.running_var, plain.running_var)


def _gradient_norms(clf, X, y):
    """Global gradient norm at every optimizer step of a fit."""
    norms = []

    def hook(optimizer, args, kwargs):
        grads = [p.grad for group in optimizer.param_groups for p in group["params"]
                 if p.grad is not None]
        norms.append(float(torch.linalg.vector_norm(torch.stack(
            [torch.linalg.vector_norm(g) for g in grads]))))

    handle = register_optimizer_step_pre_hook(hook)
    try:
        clf.fit(X, y)
    finally:
        handle.remove()
    return np.array(norms)


def test_clipping_bounds_the_gradient_norm():
    rng = np.random.RandomState(0)
    X = 50.0 * rng.randn(40, 30, 1)  # unscaled inputs give large gradients
    y = (X[:, 0, 0] > 0).astype(int)
    params = {"hidden_size": 8, "max_iter": 5, "batch_size": 10, "standardize": None, "n_threads": 1,
                  "solver": "sgd", "learning_rate_init": 0.1, "random_state": 0}
    free = _gradient_norms(LSTMSequenceClassifier(**params, clip_grad_norm=None), X, y)
    clipped = _gradient_norms(LSTMSequenceClassifier(**params, clip_grad_norm=0.05), X, y)
    assert free.max() > 0.5  # the bound below is not vacuous
    assert len(clipped) == 20
    assert clipped.max() <= 0.05 * (1 + 1e-6)


@pytest.mark.parametrize("params", [
    {"bidirectional": True},
    {"num_layers": 2, "dropout": 0.1},
    {"num_layers": 2, "bidirectional": True, "layer_norm": True, "summary": "mean"},
])
def test_deep_and_bidirectional_variants_learn(params):
    # the label sits at the start of a noisy sequence: the net has to carry it to the end
    rng = np.random.RandomState(0)
    X = rng.randn(160, 8, 1)
    y = (X[:, 0, 0] > 0).astype(int)
    X[:, 0, 0] += np.where(y == 1, 1.0, -1.0)
    clf = LSTMSequenceClassifier(**{"hidden_size": 8, "conv_channels": None, "summary": "last",
                                    "batch_size": 120, "learning_rate": "constant",
                                    "max_iter": 60, "learning_rate_init": 0.02, "n_threads": 1,
                                    "random_state": 0, **params})
    clf.fit(X[:120], y[:120])
    net = clf.module_
    assert len(net.lstms) == params.get("num_layers", 1)
    assert net.lstms[0].bidirectional == params.get("bidirectional", False)
    assert clf.loss_curve_[-1] < 0.5 * clf.loss_curve_[0]
    assert clf.score(X[120:], y[120:]) >= 0.9


def test_string_labels_reproducibility_and_pickle():
    import pickle

    X, y = _ragged(n=30, seed=5)
    a = lstm(conv_channels=(3,)).fit(X, y)
    b = lstm(conv_channels=(3,)).fit(X, y)
    assert set(a.predict(X)) <= {"neg", "pos"}
    np.testing.assert_array_equal(a.predict_proba(X), b.predict_proba(X))
    c = pickle.loads(pickle.dumps(a))
    np.testing.assert_array_equal(a.predict_proba(X), c.predict_proba(X))
    assert a.n_features_in_ == 2 and a.n_timesteps_ == max(len(x) for x in X)


@pytest.mark.parametrize("X, match", [
    ([np.ones((3, 2)), np.array([[1.0, np.nan]])], "NaN"),
    ([np.ones((3, 2)), np.ones((0, 2))], "empty"),
    ([np.ones((3, 2)), np.ones((4, 3))], "different numbers of features"),
    ([np.ones((3, 2)), np.ones((4, 2, 1))], "3 dimensions"),
    (np.ones((2, 0, 3)), "no time steps"),
])
def test_bad_sequences_raise(X, match):
    with pytest.raises(ValueError, match=match):
        lstm().fit(X, [0, 1])


def test_bad_shapes_and_parameters_raise():
    X, y = _ragged(n=10)
    clf = lstm().fit(X, y)
    with pytest.raises(ValueError, match="3 features per time step"):
        clf.predict([np.ones((4, 3))])
    with pytest.raises(ValueError, match="input_shape"):
        lstm(input_shape=(3, 3)).fit(np.ones((4, 10)), [0, 1, 0, 1])
    with pytest.raises(ValueError, match="input_shape"):
        lstm(input_shape=(3, 0)).fit(np.ones((4, 10)), [0, 1, 0, 1])
    with pytest.raises(ValueError, match="conv_kernel_sizes"):
        lstm(conv_channels=(2, 2), conv_kernel_sizes=(3,)).fit(X, y)


def test_conv_batch_norm_statistics_come_from_the_final_weights():
    X, y = _ragged(n=30, seed=6)
    clf = lstm(conv_channels=(4,), conv_kernel_sizes=3).fit(X, y)
    x, lengths = clf._inputs(clf._validate_X(X, reset=False), "cpu")
    conv, norm = clf.module_.conv.convs[0], clf.module_.conv.norms[0]
    with torch.no_grad():
        z = conv(torch.nn.functional.pad(x.transpose(1, 2), (1, 1)))  # (B, C, T)
    valid = torch.cat([z[b, :, :n] for b, n in enumerate(lengths.tolist())], dim=1)  # (C, N)
    torch.testing.assert_close(norm.running_mean, valid.mean(dim=1))
    torch.testing.assert_close(norm.running_var, valid.var(dim=1))


def test_squeeze_excite_gates_match_their_formula():
    X, y = _ragged(n=30, seed=7)
    clf = lstm(conv_channels=(4, 6, 5), squeeze_excite=2).fit(X, y)
    conv = clf.module_.conv
    assert [se.squeeze.out_features for se in conv.excites] == [2, 3]  # none after the last block
    se = conv.excites[1]
    torch.manual_seed(0)
    h = torch.relu(torch.randn(2, 6, 5, dtype=torch.float64))
    mask = torch.tensor([[1.0] * 5, [1.0] * 3 + [0.0] * 2], dtype=torch.float64)[:, None, :]
    h = h * mask
    W1, b1 = se.squeeze.weight.detach().numpy(), se.squeeze.bias.detach().numpy()
    W2, b2 = se.excite.weight.detach().numpy(), se.excite.bias.detach().numpy()
    for b, n in enumerate([5, 3]):
        m = h[b, :, :n].numpy().mean(axis=1)
        gates = 1.0 / (1.0 + np.exp(-(W2 @ np.maximum(W1 @ m + b1, 0.0) + b2)))
        expected = h[b].numpy() * gates[:, None]
        np.testing.assert_allclose(se(h, mask)[b].detach().numpy(), expected, rtol=1e-12)
    plain = lstm(conv_channels=(4, 6, 5)).fit(X, y)
    assert len(plain.module_.conv.excites) == 0
    assert not np.allclose(plain.predict_proba(X), clf.predict_proba(X))
    with pytest.raises(ValueError, match="squeeze_excite"):
        lstm(conv_channels=(4,), squeeze_excite=0).fit(X, y)


def test_sequence_lists_pass_through_sklearn_composites():
    # cross_val_score and a soft-voting seed ensemble take lists of (T_i, F) arrays as they
    # are; each is compared with the same fits written out by hand
    from sklearn.ensemble import VotingClassifier
    from sklearn.model_selection import StratifiedKFold, cross_val_score

    X, y = _ragged(n=36, seed=3)
    folds = list(StratifiedKFold(3).split(np.zeros(len(y)), y))
    scores = cross_val_score(lstm(), X, y, cv=folds)
    by_hand = [lstm().fit([X[i] for i in tr], y[tr])
               .score([X[i] for i in te], y[te]) for tr, te in folds]
    np.testing.assert_array_equal(scores, by_hand)

    params = {k: v for k, v in FAST.items() if k != "random_state"}
    members = [LSTMSequenceClassifier(**params, random_state=seed) for seed in (0, 1)]
    vote = VotingClassifier([("a", members[0]), ("b", members[1])], voting="soft").fit(X, y)
    mean = np.mean([m.fit(X, y).predict_proba(X) for m in members], axis=0)
    np.testing.assert_array_equal(vote.predict_proba(X), mean)
    assert not np.array_equal(members[0].predict_proba(X), members[1].predict_proba(X))
    assert list(vote.classes_) == ["neg", "pos"]


# ---------------------------------------------------------------- defaults
@pytest.mark.parametrize("channels, kernels", [
    ((128, 256, 128), [8, 5, 3]), ((4,), [8]), ((4, 5), [8, 3]), ((4, 5, 6, 7), [8, 5, 5, 3])])
def test_default_is_lstm_fcn_with_fcns_kernels(channels, kernels):
    X, y = _ragged(n=30, seed=1)
    params = {} if channels == (128, 256, 128) else {"conv_channels": channels}
    clf = LSTMSequenceClassifier(max_iter=1, n_threads=1, random_state=0, **params).fit(X, y)
    conv = clf.module_.conv
    assert [c.out_channels for c in conv.convs] == list(channels)
    assert [c.kernel_size[0] for c in conv.convs] == kernels
    assert clf.module_.lstms[0].hidden_size == 32 and clf.module_.summary == "max"


@pytest.mark.parametrize("n, batch", [(20, 2), (67, 6), (270, 16), (1000, 16)])
def test_default_budget_is_fcns_batches_for_1500_steps(n, batch):
    X, y = _ragged(n=n, seed=2, low=3, high=5)
    clf = LSTMSequenceClassifier(hidden_size=2, conv_channels=(2,), n_threads=1,
                                 random_state=0)
    clf._AUTO_STEPS = 40  # the rule, on a budget a test can afford
    clf.fit(X, y)
    n_batches = -(-n // batch)
    assert clf.batch_size_ == batch
    assert clf.max_iter_ == max(10, -(-40 // n_batches)) == clf.n_iter_
    assert clf.learning_rate == "cosine" and clf._optimizer.param_groups[0]["lr"] < 1e-12


def test_defaults_carry_a_label_from_the_first_step():
    # the label sits at the start of noisy 8-step sequences; the defaults' 1,500 steps
    # (150 epochs of 10 batches) must find it on held-out sequences
    rng = np.random.RandomState(0)
    X = rng.randn(160, 8, 1)
    y = (X[:, 0, 0] > 0).astype(int)
    X[:, 0, 0] += np.where(y == 1, 1.0, -1.0)
    X = X.astype(np.float32)  # torch's fast path
    clf = LSTMSequenceClassifier(n_threads=1, random_state=0).fit(X[:120], y[:120])
    assert clf.n_iter_ == clf.max_iter_ == 150
    assert clf.score(X[120:], y[120:]) >= 0.95
