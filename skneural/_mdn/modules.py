"""The MDN's torch modules beyond the core's MLP."""

import torch


class MemberStack(torch.nn.Module):
    """``n_estimators`` independent MLPs side by side; their raw outputs are concatenated."""

    def __init__(self, members):
        super().__init__()
        self.members = torch.nn.ModuleList(members)

    def forward(self, *inputs):  # (B, F) [, codes] -> (B, M * P)
        return torch.cat([member(*inputs) for member in self.members], dim=1)

    def linear_layers(self):
        """Every member's affine maps, member after member (what ``coefs_`` lists)."""
        return [layer for member in self.members for layer in member.linear_layers()]
