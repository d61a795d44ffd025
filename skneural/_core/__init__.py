"""The core every estimator family shares: base estimator, training engine, losses,
regularizers, validation, the dense network. It imports no family."""
