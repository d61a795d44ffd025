"""The adversarial training loop of GANSampler, its losses and the rejection critic.

One loop, written out: epoch -> generator steps; before each generator step,
``discriminator_steps`` discriminator steps on a fresh batch of real rows
and a batch of generated ones. Two optimizers, one per network; this is the
only place they are stepped.

The value function (Goodfellow et al. 2014, seed 001) is
``V(G, D) = E_x[log D(x)] + E_z[log(1 - D(G(z)))]`` with ``min_G max_D V``.
Everything works on logits ``l`` with ``D = sigmoid(l)``:
``log D = -softplus(-l)`` and ``log(1 - D) = -softplus(l)``.
"""

import math
import warnings

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.exceptions import ConvergenceWarning

from .._core.device import MixedPrecision, auto_threads, forward_flops
from .._core.engine import _all_finite, _snapshot
from .._core.networks import has_batch_norm
from .._core.optimizers import prefer_fused
from .._core.progress import Progress
from .modules import Discriminator


def discriminator_loss(real_logit, fake_logit, label_smoothing=0.0):
    """``-V(G, D)``: binary cross-entropy, real target ``1 - label_smoothing``.

    Smoothing only the real target (one-sided, Salimans et al. 2016) keeps
    the optimal discriminator from rewarding generated points far from data.
    """
    target = 1.0 - label_smoothing
    real = target * F.softplus(-real_logit) + (1.0 - target) * F.softplus(real_logit)
    return real.mean() + F.softplus(fake_logit).mean()


def minimax_loss(fake_logit):
    """The original generator objective, ``E[log(1 - D(G(z)))]`` (minimized)."""
    return -F.softplus(fake_logit).mean()


def non_saturating_loss(fake_logit):
    """``-E[log D(G(z))]``: the same fixed point, strong gradients early on."""
    return F.softplus(-fake_logit).mean()


GENERATOR_LOSSES = {"minimax": minimax_loss, "non_saturating": non_saturating_loss}


def r1_penalty(discriminator, real, cond):
    """``E ||grad_x D(x)||^2`` on real rows (Mescheder et al. 2018), with graph."""
    real = real.detach().requires_grad_(True)
    logit = discriminator(real, cond)
    (grad,) = torch.autograd.grad(logit.sum(), real, create_graph=True)
    return grad.pow(2).sum(dim=1).mean()


AVERAGING_WARMUP = 10  # TensorFlow's ExponentialMovingAverage: (1 + t) / (10 + t)


def averaging_decay(decay, n_updates):
    """Decay of the generator average's update after ``n_updates`` earlier ones.

    ``min(decay, (1 + t) / (10 + t))``, the warm-up of TensorFlow's
    ``ExponentialMovingAverage(num_updates=t)``: the first update keeps only
    a tenth of the initial weights, and the decay reaches ``decay`` after
    about ``9 / (1 - decay)`` updates (8990 for 0.999); until then the
    average spans roughly the last tenth of the steps. Without it a 0.999
    average over a few hundred steps would still be mostly the untrained
    generator (74% of it after 300 steps); with it the initial weights'
    share after ``T`` updates is ``prod_t min(decay, (1 + t) / (10 + t))``,
    1e-5 at ``T = 10`` and under 1e-8 from ``T = 30`` on.
    """
    return min(decay, (1.0 + n_updates) / (AVERAGING_WARMUP + n_updates))


def _adam(params, lr, est):
    """Adam with the sampler's betas and epsilon, fused into one kernel where torch has one."""
    return prefer_fused(torch.optim.Adam, params, lr=lr, betas=(est.beta_1, est.beta_2),
                        eps=est.epsilon)


def batch_rows(batch_size, n, pac, batch_norm):
    """Rows per training batch: ``batch_size`` capped at ``n``, rounded up to a multiple of ``pac``.

    A batch-normalized generator gets at least 2 rows (batch norm cannot
    normalize a single row in training).
    """
    batch = pac * max(1, math.ceil(min(batch_size, n) / pac))
    return max(batch, 2) if batch_norm else batch


def steps_per_epoch(n, batch):
    """Generator updates per epoch: ``ceil(n / batch)``."""
    return max(1, math.ceil(n / batch))


def discriminate(D, real, fake, cond=None, separate=None):
    """``(D(real, cond), D(fake, cond))``, from one call of ``D`` on both batches.

    One call halves the per-call work of the discriminator's small layers and
    spectral norms (one power iteration per call, as for any forward pass);
    with batch norm in ``D`` the batches go separately, so that their
    statistics do not mix. Packs never straddle the two halves: both batches
    hold a multiple of ``pac`` rows. ``separate`` is ``has_batch_norm(D)``,
    for callers that know it for every step.
    """
    if has_batch_norm(D) if separate is None else separate:
        return D(real, cond), D(fake, cond)
    logits = D(torch.cat([real, fake]), None if cond is None else torch.cat([cond, cond]))
    n_real = real.shape[0] // D.pac
    return logits[:n_real], logits[n_real:]


def step_flops(module, batch):
    """Floating-point operations of one training step: the generator's forward and backward
    pass on ``batch`` rows, the discriminator's on three batches of packs (real,
    generated, and the generator step's), each about three forward passes."""
    def one_row(mlp):
        return forward_flops(mlp, torch.zeros(1, mlp.linear_layers()[0].in_features,
                                              dtype=mlp.out.weight.dtype,
                                              device=mlp.out.weight.device))

    G, D = module.generator, module.discriminator
    return 3 * (batch * one_row(G.net) + 3 * (batch // D.pac) * one_row(D.net))


def _float(logit):
    """A discriminator's logits in float32 for the loss, whatever autocast computed them in."""
    return logit.float()


def train_adversarial(est, module, data, cond):
    """Train ``module.generator`` against ``module.discriminator`` for ``est.max_iter_`` epochs.

    Parameters
    ----------
    est : GANSampler
        Hyper-parameters; the resolved ``max_iter_`` (epochs) and
        ``batch_size_`` (rows per batch) are read, ``loss_curve_`` and
        ``n_iter_`` updated in place.
    module : GANModule
    data : tensor of shape (n_samples, n_encoded)
        Encoded real rows on the training device.
    cond : tensor of shape (n_samples, n_classes) or None
        One-hot class of each row for a conditional GAN.
    """
    G, D = module.generator, module.discriminator
    lr_d = est.discriminator_learning_rate or est.learning_rate_init
    opt_g = _adam(G.parameters(), est.learning_rate_init, est)
    opt_d = _adam(D.parameters(), lr_d, est)
    generator_loss = GENERATOR_LOSSES[est.loss]
    n, device = data.shape[0], data.device
    # one loss scaler per network: their losses and steps alternate
    amp_g, amp_d = (MixedPrecision(est.precision, device) for _ in range(2))
    batch, epochs = est.batch_size_, est.max_iter_
    n_steps = steps_per_epoch(n, batch)
    auto_threads(est.n_threads, lambda: step_flops(module, batch), device)
    separate = has_batch_norm(D)  # real and generated rows through D apart (see discriminate)
    total_steps = epochs * n_steps  # the step-size schedule and the noise run over these
    decay = est.generator_averaging
    n_averaged = 0  # updates of the generator average in this fit (its warm-up restarts)
    progress = Progress(est.verbose, epochs, "GANSampler")

    def real_batch():
        idx = torch.randint(n, (batch,), device=device)
        return data[idx], None if cond is None else cond[idx]

    def fake_batch(c):
        z = torch.randn(batch, G.latent_dim, device=device, dtype=data.dtype)
        return G(z, c)

    def noisy(x, std):
        return x if std == 0 else x + std * torch.randn_like(x)

    try:
        for epoch in range(epochs):
            G.train()
            D.train()
            last_good = _snapshot(module)
            sum_d = sum_g = 0.0
            for step in range(n_steps):
                progress_frac = (epoch * n_steps + step) / total_steps
                if est.learning_rate == "linear":
                    for opt, lr in ((opt_g, est.learning_rate_init), (opt_d, lr_d)):
                        for group in opt.param_groups:
                            group["lr"] = lr * (1.0 - progress_frac)
                # Instance noise (Sonderby et al. 2017) blurs both distributions so
                # their supports overlap early on; it is annealed linearly to zero.
                noise = est.instance_noise * (1.0 - progress_frac)

                for _ in range(est.discriminator_steps):
                    real, c = real_batch()
                    with amp_d.autocast():
                        with torch.no_grad():
                            fake = fake_batch(c)
                        real_logit, fake_logit = discriminate(
                            D, noisy(real, noise), noisy(fake, noise), c, separate)
                        loss_d = discriminator_loss(_float(real_logit), _float(fake_logit),
                                                    est.label_smoothing)
                    if est.gradient_penalty > 0:  # outside autocast: a gradient of a gradient
                        loss_d = loss_d + 0.5 * est.gradient_penalty * r1_penalty(D, real, c)
                    opt_d.zero_grad(set_to_none=True)
                    amp_d.backward(loss_d, opt_d)
                    amp_d.step(opt_d)

                _, c = real_batch()  # class mix of the data for the generated batch
                for p in D.parameters():
                    p.requires_grad_(False)
                with amp_g.autocast():
                    loss_g = generator_loss(_float(D(noisy(fake_batch(c), noise), c)))
                opt_g.zero_grad(set_to_none=True)
                amp_g.backward(loss_g, opt_g)
                amp_g.step(opt_g)
                for p in D.parameters():
                    p.requires_grad_(True)
                if decay:
                    module.update_average(averaging_decay(decay, n_averaged))
                    n_averaged += 1
                sum_d += float(loss_d.detach())
                sum_g += float(loss_g.detach())

            epoch_d, epoch_g = sum_d / n_steps, sum_g / n_steps
            if not (np.isfinite(epoch_d) and np.isfinite(epoch_g)) or not _all_finite(module):
                module.load_state_dict(last_good)
                warnings.warn(
                    f"GANSampler: the losses became non-finite in epoch {est.n_iter_ + 1}; "
                    "training stopped and the weights from the end of the previous epoch "
                    "were restored. Lower learning_rate_init or use spectral_norm=True.",
                    ConvergenceWarning,
                )
                break
            est.n_iter_ += 1
            est.loss_curve_["discriminator"].append(epoch_d)
            est.loss_curve_["generator"].append(epoch_g)
            progress.update(est.n_iter_, loss_D=epoch_d, loss_G=epoch_g)
    except KeyboardInterrupt:
        warnings.warn(f"GANSampler: training interrupted by user after {est.n_iter_} epochs; "
                      "the estimator keeps the latest weights.", UserWarning)
    finally:
        progress.close()
    module.eval()


def make_critic(est, n_encoded, n_conditions):
    """An untrained rejection critic: an unpacked discriminator without normalization."""
    return Discriminator(n_encoded, n_conditions, est.discriminator_hidden_layer_sizes_, 1,
                         est.discriminator_activation, None, False)


def train_critic(est, module, data, cond, n_steps, bias=None):
    """Fit an unpacked discriminator to real vs generated rows, the generator frozen.

    Discriminator rejection sampling (Azadi et al. 2019) needs ``D(x)`` of a
    single row, calibrated against the final generator; the packed training
    discriminator provides neither, so a fresh one is fitted here. ``bias``
    (logit offsets, one row per class or one row) is the generator's
    marginal calibration: the critic learns against the rows ``sample``
    proposes.
    """
    G = module.sampler().eval()
    critic = make_critic(est, data.shape[1], 0 if cond is None else cond.shape[1])
    critic = critic.to(device=data.device, dtype=data.dtype).train()
    opt = _adam(critic.parameters(), est.discriminator_learning_rate or est.learning_rate_init,
                est)
    n = data.shape[0]
    batch = min(est.batch_size_, n)
    for _ in range(n_steps):
        idx = torch.randint(n, (batch,), device=data.device)
        c = None if cond is None else cond[idx]
        with torch.no_grad():
            z = torch.randn(batch, G.latent_dim, device=data.device, dtype=data.dtype)
            b = bias if bias is None or c is None else c @ bias
            fake = G(z, c, bias=b)
        loss = discriminator_loss(*discriminate(critic, data[idx], fake, c, separate=False))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    module.critic = critic.eval()
