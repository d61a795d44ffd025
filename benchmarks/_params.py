"""``--param KEY=VALUE`` options of the benchmark scripts, read into estimator settings."""

import ast


def parse_params(items):
    """``["k=v", ...]`` -> ``{k: v}``; each value a Python literal, or else the string itself."""
    params = {}
    for item in items:
        key, _, value = item.partition("=")
        try:
            params[key] = ast.literal_eval(value)
        except (ValueError, SyntaxError):
            params[key] = value
    return params
