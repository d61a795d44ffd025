"""Gradient diagnostics: the numerical gradient check and the input Jacobian (seeds 001, 004).

Backpropagation is checked, as the seed on MLP fundamentals teaches, against
central differences ``(E(w + eps) - E(w - eps)) / (2 eps)``, whose error is
``O(eps^2)``.
"""

from collections.abc import Callable, Sequence

import numpy as np
import torch
from sklearn.base import BaseEstimator

from .typing import ArrayLike, NDArray
from .validation import check_is_fitted


def numerical_gradient(func: Callable[[], torch.Tensor], tensor: torch.Tensor,
                       eps: float = 1e-6) -> torch.Tensor:
    """Central-difference gradient of the scalar ``func()`` with respect to ``tensor``.

    Parameters
    ----------
    func : callable
        Takes no argument and returns a 0-d tensor that depends on ``tensor``.
    tensor : torch.Tensor
        Perturbed in place, one entry at a time, and restored.
    eps : float, default=1e-6

    Returns
    -------
    grad : torch.Tensor of the same shape as ``tensor``
    """
    grad = torch.zeros_like(tensor)
    # edit through .data so autograd does not see the perturbation; func may itself
    # need autograd (input-gradient penalties), so it runs with gradients enabled
    # by index, not through a flat view: parameters may be strided (channels-last kernels)
    data = tensor.data
    for i in np.ndindex(*tensor.shape):
        original = data[i].item()
        data[i] = original + eps
        plus = float(func().detach())
        data[i] = original - eps
        minus = float(func().detach())
        data[i] = original
        grad[i] = (plus - minus) / (2 * eps)
    return grad


def check_gradient(func: Callable[[], torch.Tensor], tensors: Sequence[torch.Tensor],
                   eps: float = 1e-6) -> float:
    """Largest relative difference between autograd's and the numerical gradient.

    Parameters
    ----------
    func : callable
        Returns a differentiable 0-d tensor of ``tensors``.
    tensors : list of torch.Tensor
        Leaves with ``requires_grad=True`` (use float64 for a tight check).
    eps : float, default=1e-6

    Returns
    -------
    error : float
        ``max |g_auto - g_num| / max(1, max |g_num|)`` over all entries.
    """
    analytic = torch.autograd.grad(func(), tensors, allow_unused=True)
    error = 0.0
    for tensor, auto in zip(tensors, analytic):
        numeric = numerical_gradient(func, tensor, eps)
        auto = torch.zeros_like(numeric) if auto is None else auto
        scale = max(1.0, float(numeric.abs().max()))
        error = max(error, float((auto - numeric).abs().max()) / scale)
    return error


def input_jacobian(estimator: BaseEstimator, X: ArrayLike) -> NDArray:
    """Jacobian of a fitted estimator's raw outputs with respect to its inputs.

    Works for every estimator that ``predict``s from ``X``: the MLPs and the
    MDN (rows), the ConvNet (the Jacobian is with respect to the flattened
    pixels, the columns of ``X``) and the LSTM (with respect to each step's
    features of the unstandardized sequence; padded steps get 0).

    Parameters
    ----------
    estimator : fitted skneural estimator
    X : array-like of shape (n_samples, n_features), or sequences for the LSTM

    Returns
    -------
    jacobian : ndarray of shape (n_samples, n_outputs, n_features)
        ``J[n, k, i] = d y_k(x_n) / d x_ni`` of the network's raw outputs
        (logits for classifiers), in eval mode. For the LSTM the shape is
        ``(n_samples, n_outputs, n_timesteps, n_features)``.

    Examples
    --------
    >>> import numpy as np
    >>> from skneural import MLPRegressor
    >>> from skneural.utils import input_jacobian
    >>> X = np.random.RandomState(0).normal(size=(50, 3))
    >>> reg = MLPRegressor(hidden_layer_sizes=(8,), max_iter=5, random_state=0).fit(X, X[:, 0])
    >>> input_jacobian(reg, X[:4]).shape
    (4, 1, 3)
    """
    check_is_fitted(estimator)
    if getattr(estimator, "is_categorical_", None) is not None:
        raise ValueError("input_jacobian needs numeric inputs: this model reads categorical "
                         "columns, which have no derivative.")
    X = estimator._validate_X(X, reset=False)
    module = estimator.module_.eval()
    device = next(module.parameters()).device
    inputs = estimator._inputs(X, device)
    x = inputs[0].detach().requires_grad_(True)
    with torch.enable_grad():
        out = module(x, *inputs[1:])
        rows = []
        for k in range(out.shape[1]):
            (grad,) = torch.autograd.grad(out[:, k].sum(), x, retain_graph=True)
            rows.append(grad)
    jacobian = torch.stack(rows, dim=1).detach().cpu().numpy()  # (n, K, *network input)
    return estimator._jacobian_to_input(jacobian, X)
