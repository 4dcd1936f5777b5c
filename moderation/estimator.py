"""scikit-learn's estimator protocol for the model's own classes, without importing scikit-learn.

``CommentModel`` and ``TextFeatures`` keep scikit-learn's conventions (parameters in ``__init__``,
learning in ``fit``, learned state ending in ``_``, ``get_params`` / ``set_params``, so
``sklearn.base.clone`` and parameter grids work on them), but a served model only scores: importing
scikit-learn (which imports most of SciPy) was about 0.9 s of the 1.4 s before the first verdict.
So the protocol is implemented here, in the few lines it takes, and scikit-learn is imported only
where something is learned (``fit``, thresholds, evaluation).
"""
from __future__ import annotations

import inspect
from typing import Any


class Estimator:
    """``get_params`` / ``set_params`` from ``__init__``'s parameters, as scikit-learn's
    ``BaseEstimator`` defines them, and a repr that shows them."""

    @classmethod
    def _get_param_names(cls) -> list[str]:
        signature = inspect.signature(cls.__init__)
        return sorted(p.name for p in signature.parameters.values()
                      if p.name != "self" and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD))

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name in self._get_param_names():
            value = getattr(self, name)
            if deep and hasattr(value, "get_params") and not isinstance(value, type):
                out.update((f"{name}__{key}", inner) for key, inner in value.get_params().items())
            out[name] = value
        return out

    def set_params(self, **params) -> "Estimator":
        valid = self._get_param_names()
        nested: dict[str, dict[str, Any]] = {}
        for key, value in params.items():
            name, _, inner = key.partition("__")
            if name not in valid:
                raise ValueError(f"invalid parameter {name!r} for {type(self).__name__}: "
                                 f"valid parameters are {', '.join(valid)}")
            if inner:
                nested.setdefault(name, {})[inner] = value
            else:
                setattr(self, name, value)
        for name, inner in nested.items():
            getattr(self, name).set_params(**inner)
        return self

    def __repr__(self) -> str:
        shown = ", ".join(f"{k}={v!r}" for k, v in self.get_params(deep=False).items())
        return f"{type(self).__name__}({shown})"

    def __setstate__(self, state: dict[str, Any]) -> None:
        # Models written while these classes derived from scikit-learn's BaseEstimator carry its
        # version in their state: dropped, the card checks library versions.
        state.pop("_sklearn_version", None)
        self.__dict__.update(state)


class Transformer(Estimator):
    def fit_transform(self, X, y=None, **fit_params):
        return self.fit(X, y, **fit_params).transform(X)
