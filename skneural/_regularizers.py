"""Penalties on the weights, each a small function of the module.

The engine adds ``penalty(estimator, module)`` to the data loss of every
mini-batch, divided by the batch's total sample weight as sklearn does for its
L2 term, so ``alpha`` means the same thing here as in sklearn's MLP.
"""


def decayed_parameters(module):
    """Weights that penalties act on: matrices and kernels, not biases or norm scales.

    The ``dim() >= 2`` rule (as in nanoGPT's parameter groups) excludes biases
    and normalization parameters, which are 1-D.
    """
    return [p for p in module.parameters() if p.requires_grad and p.dim() >= 2]


def l2_penalty(module):
    """Sum of squared weights, ``w^T w``, over the decayed parameters."""
    return sum(p.pow(2).sum() for p in decayed_parameters(module))


def penalty(estimator, module):
    """Total penalty for one step; ``0.5 * alpha * w^T w`` (sklearn's L2 term).

    Returns ``None`` when no penalty is active, so the training step adds nothing.
    """
    alpha = getattr(estimator, "alpha", 0.0)
    if alpha and estimator.solver != "adamw":
        return 0.5 * alpha * l2_penalty(module)
    return None
