"""Public diagnostics: numerical gradient checks and input Jacobians."""

from ._core.diagnostics import check_gradient, input_jacobian, numerical_gradient

__all__ = ["check_gradient", "input_jacobian", "numerical_gradient"]
