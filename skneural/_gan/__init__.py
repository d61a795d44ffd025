"""Generative adversarial networks for tabular rows: GANSampler and its row encoder."""

from .encoder import TabularEncoder
from .estimator import GANSampler

__all__ = ["GANSampler", "TabularEncoder"]
