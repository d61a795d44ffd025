"""The one place that touches torch's private API.

torch's ``torch._foreach_*`` functions and ``torch._fused_adam_`` kernel are
faster than a Python loop over tensors but are not public: they may be renamed,
removed or change signature in any release. Each helper here has a public
signature, uses the private function when this torch has one that accepts the
call, and otherwise (missing, or raising ``TypeError``/``RuntimeError``/
``AttributeError``) computes the same result with public operations.

A private in-place call that fails partway through its tensors (a genuine error,
which the public loop then raises too) may have updated the first ones already;
the error still reaches the caller.
"""

import numbers

import torch

__all__ = ["foreach_add_", "foreach_lerp_", "foreach_norm", "foreach_sub_", "fused_adam_kernel"]

_FAILURES = (TypeError, RuntimeError, AttributeError)


def _private(name):
    return getattr(torch, name, None)


def foreach_norm(tensors, ord=2):
    """The ``ord``-norm of each tensor (flattened), as a list of 0-d tensors.

    ``[torch.linalg.vector_norm(t, ord) for t in tensors]``, in one kernel
    where torch's private ``_foreach_norm`` serves.
    """
    tensors = list(tensors)
    if not tensors:
        return []
    fn = _private("_foreach_norm")
    if fn is not None:
        try:
            return list(fn(tensors, ord))
        except _FAILURES:
            pass
    return [torch.linalg.vector_norm(t, ord) for t in tensors]


def _foreach_update_(name, sign, tensors, other, alpha):
    tensors = list(tensors)
    if not tensors:
        return
    scalar = isinstance(other, numbers.Number)
    if not scalar and not isinstance(other, torch.Tensor):
        other = list(other)
    fn = _private(name)
    if fn is not None:
        try:
            if scalar:  # torch's scalar overloads take no alpha
                fn(tensors, other * alpha)
            elif isinstance(other, list) and all(isinstance(o, numbers.Number) for o in other):
                fn(tensors, [o * alpha for o in other])
            else:
                fn(tensors, other, alpha=alpha)
            return
        except _FAILURES:
            pass
    if scalar or isinstance(other, torch.Tensor):
        other = [other] * len(tensors)
    elif len(other) != len(tensors):
        raise ValueError(f"{len(tensors)} tensors but {len(other)} others.")
    for t, o in zip(tensors, other):
        t.add_(o, alpha=sign * alpha)


def foreach_add_(tensors, other, alpha=1):
    """``t.add_(o, alpha=alpha)`` for each tensor ``t``, in place; returns ``None``.

    ``other`` is a list of tensors or numbers (one per tensor), or one number
    or tensor added to every tensor.
    """
    _foreach_update_("_foreach_add_", 1, tensors, other, alpha)


def foreach_sub_(tensors, other, alpha=1):
    """``t.sub_(o, alpha=alpha)`` for each tensor ``t``, in place; returns ``None``.

    ``other`` is as for :func:`foreach_add_`.
    """
    _foreach_update_("_foreach_sub_", -1, tensors, other, alpha)


def foreach_lerp_(tensors, ends, weight):
    """``t.lerp_(end, weight)`` for each pair, in one kernel where ``_foreach_lerp_`` serves."""
    tensors, ends = list(tensors), list(ends)
    if not tensors:
        return
    fn = _private("_foreach_lerp_")
    if fn is not None:
        try:
            fn(tensors, ends, weight)
            return
        except _FAILURES:
            pass
    for t, end in zip(tensors, ends):
        t.lerp_(end, weight)


def fused_adam_kernel():
    """torch's private fused Adam kernel (``torch._fused_adam_``), or ``None``.

    It is called as ``torch.optim.Adam(fused=True)`` calls it; a caller must
    treat ``TypeError``/``RuntimeError`` from that call as "this torch's kernel
    changed" and step with the public optimizer instead.
    """
    kernel = _private("_fused_adam_")
    return kernel if callable(kernel) else None
