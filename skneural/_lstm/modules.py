"""Torch modules for sequence classification: a masked conv front end and an LSTM stack.

Every module takes zero-padded sequences ``x`` of shape ``(B, T, F)`` and the
valid ``lengths`` ``(B,)``, and is written so that padding never changes an
output: bidirectional LSTMs run on packed sequences, unidirectional ones on
the padded batch (a valid step's output depends only on the steps before
it, and nothing reads a padded step's: the same values and gradients as
packing, at the cost of equal lengths; packing is about 9x slower on the
CPU, RESULTS issue 20), the convolutions re-zero padded
steps after every block and normalize with statistics of valid steps only,
and the summaries (last state, mean, max) look at valid steps only.
"""

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from .._core.device import autocast_enabled
from .._core.networks import WeightedBatchNorm1d

SUMMARIES = ("last", "mean", "max")
CONV_LAYOUTS = ("parallel", "stacked")


class MaskedBatchNorm1d(WeightedBatchNorm1d):
    """Batch norm over channels whose batch statistics skip padded steps.

    In training the mean and (biased) variance are taken over the valid steps
    of the batch, weighted by the rows' ``sample_weight`` when the engine sets
    one; the running variance gets the unbiased ``m/(m-1)`` factor (``m`` the
    count of valid values, weights counting as repetitions), as in ``nn.BatchNorm1d``
    (``momentum=None`` is its cumulative average), and is left alone when
    ``update_stats`` is off (see :class:`~skneural._core.networks.WeightedBatchNorm1d`).
    In eval mode the running statistics are used, which involve no other
    sample, so padding cannot leak in either way.
    """

    def forward(self, x, mask):  # x (B, C, T), mask (B, 1, T)
        if not self.training:
            return nn.BatchNorm1d.forward(self, x)
        w = mask if self.sample_weight is None else (
            mask * self.sample_weight.to(x.dtype)[:, None, None])
        total = w.sum()
        mean = (x * w).sum(dim=(0, 2)) / total  # (C,)
        var = ((x - mean[:, None]).pow(2) * w).sum(dim=(0, 2)) / total
        if self.update_stats:
            with torch.no_grad():
                count = total  # valid steps, a weight counting as repetitions
                unbiased = var * count / (count - 1) if count > 1 else var
                self.num_batches_tracked += 1
                factor = (1.0 / float(self.num_batches_tracked) if self.momentum is None
                          else self.momentum)
                self.running_mean.lerp_(mean, factor)
                self.running_var.lerp_(unbiased, factor)
        x = (x - mean[:, None]) / torch.sqrt(var[:, None] + self.eps)
        return x * self.weight[:, None] + self.bias[:, None]


class SqueezeExcite(nn.Module):
    """Channel gates from the mean over valid steps (Hu et al. 2018; MLSTM-FCN's SE block).

    ``s = sigmoid(W2 relu(W1 mean_t h))`` rescales each channel of ``h``; the
    mean runs over valid steps only, so padding cannot change the gates.
    """

    def __init__(self, channels, ratio):
        super().__init__()
        hidden = max(1, channels // ratio)
        self.squeeze = nn.Linear(channels, hidden)
        self.excite = nn.Linear(hidden, channels)

    def forward(self, h, mask):  # h (B, C, T) zero at padded steps, mask (B, 1, T)
        mean = h.sum(dim=2) / mask.sum(dim=2)  # (B, C)
        gates = torch.sigmoid(self.excite(torch.relu(self.squeeze(mean))))
        return h * gates[:, :, None]


class ConvFrontEnd(nn.Module):
    """(Conv1d 'same' -> masked batch norm -> ReLU [-> SE])*, the FCN blocks of LSTM-FCN.

    With ``se_ratio`` every block but the last ends in a squeeze-and-excite
    block, as in MLSTM-FCN.
    """

    def __init__(self, n_in, channels, kernel_sizes, se_ratio=None):
        super().__init__()
        self.convs = nn.ModuleList()
        self.norms = nn.ModuleList()
        for width, kernel in zip(channels, kernel_sizes):
            self.convs.append(nn.Conv1d(n_in, width, int(kernel)))
            self.norms.append(MaskedBatchNorm1d(width))
            n_in = width
        self.excites = nn.ModuleList(
            [SqueezeExcite(width, se_ratio) for width in channels[:-1]] if se_ratio else [])
        self.n_out = n_in

    def forward(self, x, mask):  # x (B, T, F), mask (B, T) bool
        mask = mask[:, None, :].to(x.dtype)  # (B, 1, T)
        h = x.transpose(1, 2)  # (B, F, T)
        for i, (conv, norm) in enumerate(zip(self.convs, self.norms)):
            # 'same' padding, left-heavy for even kernels as in torch; padded
            # steps are re-zeroed so every convolution sees exactly the zeros
            # it would pad a lone sequence with
            kernel = conv.kernel_size[0]
            h = F.pad(h, ((kernel - 1) // 2, kernel // 2))
            h = torch.relu(norm(conv(h), mask)) * mask
            if i < len(self.excites):
                h = self.excites[i](h, mask)
        return h.transpose(1, 2)  # (B, T, C)


def _set_forget_bias(lstm, value):
    """Start the forget gates open (Jozefowicz et al., 2015); torch orders gates i, f, g, o."""
    hidden = lstm.hidden_size
    with torch.no_grad():
        for name, param in lstm.named_parameters():
            if name.startswith("bias_ih"):
                param[hidden:2 * hidden].fill_(value)
            elif name.startswith("bias_hh"):
                param[hidden:2 * hidden].zero_()


class LSTMSequenceNet(nn.Module):
    """(LSTM -> [LayerNorm])* -> summary -> [Dropout] -> Linear, with optional conv blocks.

    With conv blocks, the global average of their features over valid steps
    joins the LSTM summary in front of the output layer. ``"parallel"`` is
    LSTM-FCN's layout (the LSTM and the conv blocks both read the input);
    ``"stacked"`` feeds the conv features to the LSTM instead.
    """

    #: run unidirectional layers packed too (the reference path of the exactness test)
    PACK_UNIDIRECTIONAL = False

    def __init__(self, n_features, n_outputs, hidden_size=64, num_layers=1,
                 bidirectional=False, dropout=0.0, summary="last", conv_channels=(),
                 conv_kernel_sizes=(), layer_norm=False, conv_layout="parallel", se_ratio=None):
        super().__init__()
        self.summary = summary
        self.conv_layout = conv_layout
        self.conv = (ConvFrontEnd(n_features, conv_channels, conv_kernel_sizes, se_ratio)
                     if conv_channels else None)
        stacked = self.conv is not None and conv_layout == "stacked"
        n_in = self.conv.n_out if stacked else n_features
        directions = 2 if bidirectional else 1
        self.lstms = nn.ModuleList()
        self.norms = nn.ModuleList()
        for _ in range(num_layers):
            lstm = nn.LSTM(n_in, hidden_size, batch_first=True, bidirectional=bidirectional)
            _set_forget_bias(lstm, 1.0)
            self.lstms.append(lstm)
            self.norms.append(nn.LayerNorm(directions * hidden_size) if layer_norm else nn.Identity())
            n_in = directions * hidden_size
        self.dropout = nn.Dropout(dropout)
        n_summary = n_in + (self.conv.n_out if self.conv is not None else 0)
        self.out = nn.Linear(n_summary, n_outputs)

    @staticmethod
    def _run(lstm, h, lengths, packed):
        if h.device.type == "cpu" and autocast_enabled("cpu"):
            # oneDNN has no reduced-precision LSTM on most CPUs: this layer runs in float32
            with torch.autocast("cpu", enabled=False):
                return LSTMSequenceNet._run(lstm, h.to(lstm.weight_ih_l0.dtype), lengths, packed)
        if not packed:
            return lstm(h)[0]
        seq = pack_padded_sequence(h, lengths.cpu(), batch_first=True, enforce_sorted=False)
        return pad_packed_sequence(lstm(seq)[0], batch_first=True, total_length=h.shape[1])[0]

    def _summarize(self, h, mask, lengths):  # h (B, T, D), mask (B, T)
        if self.summary == "mean":
            return (h * mask[..., None]).sum(dim=1) / lengths[:, None].to(h.dtype)
        if self.summary == "max":
            return h.masked_fill(~mask[..., None], float("-inf")).amax(dim=1)
        # the forward direction ends at the last valid step, the backward one at step 0
        last = h[torch.arange(h.shape[0], device=h.device), lengths - 1]  # (B, D)
        if self.lstms[-1].bidirectional:
            half = h.shape[2] // 2
            last = torch.cat([last[:, :half], h[:, 0, half:]], dim=1)
        return last

    @torch.no_grad()
    def refresh_norm_statistics(self, batches):
        """Recompute the batch-norm running statistics from ``(x, lengths[, weight])`` batches.

        Running averages taken during training lag behind the weights, and
        with few steps per epoch the lag shows: a net with training loss
        0.03 classified only 84% of its own (GunPoint) training set in eval
        mode. Averaging the statistics over the data with the final weights
        ("precise BN", Wu & Johnson 2021) removes that gap.
        """
        norms = [m for m in self.modules() if isinstance(m, MaskedBatchNorm1d)]
        if not norms:
            return
        momenta = [m.momentum for m in norms]
        for m in norms:
            m.reset_running_stats()
            m.momentum = None  # cumulative average over the batches
        self.train()
        for x, lengths, *weight in batches:
            for m in norms:
                m.sample_weight = weight[0] if weight else None
            n_steps = int(lengths.max())
            mask = torch.arange(n_steps, device=x.device)[None, :] < lengths[:, None]
            self.conv(x[:, :n_steps], mask)
        for m, momentum in zip(norms, momenta):
            m.momentum = momentum
            m.sample_weight = None
        self.eval()

    def forward(self, x, lengths):  # x (B, T, F), lengths (B,)
        n_steps = x.shape[1]
        packed = bool((lengths < n_steps).any())
        if packed:  # a batch drawn from longer sequences may end early
            n_steps = int(lengths.max())
            x = x[:, :n_steps]
            packed = bool((lengths < n_steps).any())
        mask = torch.arange(n_steps, device=x.device)[None, :] < lengths[:, None]  # (B, T)
        h, pooled = x, None
        if self.conv is not None:
            features = self.conv(x, mask)  # (B, T, C)
            pooled = features.sum(dim=1) / lengths[:, None].to(x.dtype)  # padded steps are 0
            if self.conv_layout == "stacked":
                h = features
        for i, (lstm, norm) in enumerate(zip(self.lstms, self.norms)):
            if i > 0:
                h = self.dropout(h)
            pack = packed and (lstm.bidirectional or self.PACK_UNIDIRECTIONAL)
            h = norm(self._run(lstm, h, lengths, pack))  # (B, T, D)
        summary = self.dropout(self._summarize(h, mask, lengths))  # (B, D)
        if pooled is not None:
            summary = torch.cat([summary, pooled], dim=1)
        return self.out(summary)  # (B, n_outputs)
