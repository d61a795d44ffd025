"""What every skneural classifier shares: label encoding, losses and probabilities.

Binary problems get one sigmoid output, multiclass a softmax, multilabel
(indicator ``y``) one independent sigmoid per label. Networks emit logits;
probabilities are computed only here.
"""

import numpy as np
import torch
from sklearn.preprocessing import LabelBinarizer
from sklearn.utils.class_weight import compute_sample_weight

from .losses import LOSSES, OUTPUT_ACTIVATIONS, SMOOTHED_LOSSES
from .typing import ArrayLike, Input, NDArray, Self
from .validation import (
    _check_partial_fit_first_call,
    _fit_context,
    _without_weight_averaging,
    available_if,
    column_or_1d,
    type_of_target,
)


class NeuralClassifierMixin:
    """Label handling and prediction for classifiers built on ``BaseNeuralEstimator``.

    Sets ``classes_``, ``n_outputs_``, ``out_activation_`` and the loss name
    during fit; provides ``partial_fit``, ``predict``, ``predict_proba`` and
    ``predict_log_proba``. Put it before the estimator base in the MRO.
    """

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self: Self, X: Input, y: ArrayLike, sample_weight: ArrayLike | None = None, *,
            X_val: Input | None = None, y_val: ArrayLike | None = None,
            sample_weight_val: ArrayLike | None = None) -> Self:
        """Fit the model to data ``X`` and labels ``y``.

        Parameters
        ----------
        X : array-like of shape (n_samples, ...)
        y : array-like of shape (n_samples,) or (n_samples, n_classes)
            Labels, or a label-indicator matrix for multilabel problems.
        sample_weight : array-like of shape (n_samples,), default=None
            Weights of the training rows, multiplied by ``class_weight``'s.
        X_val : array-like of shape (n_val, ...), default=None
            Validation rows for early stopping, used instead of holding out
            ``validation_fraction`` of ``X`` (which then all trains); needs
            ``early_stopping=True`` and ``y_val``. In a ``Pipeline``, route it
            with ``set_fit_request(X_val=True, y_val=True)`` and have the
            pipeline transform it like ``X`` with
            ``Pipeline(..., transform_input=["X_val"])``, as for
            :class:`~sklearn.ensemble.HistGradientBoostingClassifier`.
        y_val : array-like of shape (n_val,) or (n_val, n_classes), default=None
            Labels of ``X_val``, among those of ``y``.
        sample_weight_val : array-like of shape (n_val,), default=None
            Weights of the validation rows, used as given (``class_weight``
            does not apply to them, as in HistGradientBoosting).

        Returns
        -------
        self : object
        """
        return self._fit(X, y, sample_weight=sample_weight, incremental=False, X_val=X_val,
                         y_val=y_val, sample_weight_val=sample_weight_val)

    @available_if(_without_weight_averaging)
    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self: Self, X: Input, y: ArrayLike, sample_weight: ArrayLike | None = None,
                    classes: ArrayLike | None = None) -> Self:
        """Run one epoch over ``X, y``, keeping the optimizer state.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,) or (n_samples, n_classes)
        sample_weight : array-like of shape (n_samples,), default=None
        classes : array-like of shape (n_classes,), default=None
            All classes; required on the first call.

        Returns
        -------
        self : object
        """
        if _check_partial_fit_first_call(self, classes):
            self._partial_fit_classes = np.asarray(classes)
        return self._fit(X, y, sample_weight=sample_weight, incremental=True)

    def _validate_targets(self, y, reset, sample_weight=None):
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        kind = type_of_target(y, input_name="y")
        if kind not in ("binary", "multiclass", "multilabel-indicator"):
            raise ValueError(
                f"Unknown label type: {kind}. {type(self).__name__} needs binary, multiclass "
                "or multilabel-indicator targets; use a regressor for continuous y."
            )
        given_classes = self.__dict__.pop("_partial_fit_classes", None) if reset else None
        if reset:
            binarizer = LabelBinarizer()
            binarizer.fit(y if given_classes is None else given_classes)
            if len(binarizer.classes_) < 2 and kind != "multilabel-indicator":
                raise ValueError(
                    f"{type(self).__name__} needs samples of at least 2 classes in the data, "
                    f"but the data contains only one class: {binarizer.classes_.tolist()[0]!r}."
                )
            self._label_binarizer = binarizer
            self.classes_ = binarizer.classes_
            self._multiclass = binarizer.y_type_ == "multiclass"
            self._loss_name = "log_loss" if self._multiclass else "binary_log_loss"
            self.out_activation_ = OUTPUT_ACTIVATIONS[self._loss_name]
            self.n_outputs_ = len(self.classes_) if binarizer.y_type_ != "binary" else 1
        elif kind == "multilabel-indicator" and self._label_binarizer.y_type_ != kind:
            raise ValueError("y is a label-indicator matrix but the model was fitted on labels.")
        # the first partial_fit's chunk is checked against its classes too: the encoding
        # below would map a label outside them to a wrong class or a cryptic torch error
        if kind != "multilabel-indicator" and (not reset or given_classes is not None):
            unseen = np.setdiff1d(np.unique(y), self.classes_)
            if len(unseen):
                known = "in the classes passed to partial_fit" if reset else "seen in the first fit"
                raise ValueError(
                    f"y contains labels {unseen.tolist()} not {known}; "
                    f"known classes are {self.classes_.tolist()}."
                )
        if self._multiclass:
            return np.searchsorted(self.classes_, y)
        return self._label_binarizer.transform(y)

    def _finalize_sample_weight(self, sample_weight, y, incremental=False):
        """``sample_weight`` times the rows' ``class_weight`` (sklearn's ``compute_sample_weight``)."""
        class_weight = getattr(self, "class_weight", None)
        if class_weight is None:
            return sample_weight
        if incremental and isinstance(class_weight, str):
            raise ValueError(
                f"class_weight={class_weight!r} is computed from the whole of y, which "
                "partial_fit does not see; compute the weights once (e.g. "
                "sklearn.utils.class_weight.compute_class_weight) and pass them as a dict."
            )
        y = np.asarray(y)
        if y.ndim == 2 and y.shape[1] == 1:
            y = y.ravel()
        try:
            weights = compute_sample_weight(class_weight, y)
        except ValueError as exc:
            raise ValueError(f"Invalid class_weight={class_weight!r}: {exc}") from exc
        return weights if sample_weight is None else sample_weight * weights

    def _labels_of(self, target):
        """The labels as given of encoded targets (the inverse of ``_validate_targets``)."""
        if self._multiclass:
            return self.classes_[np.asarray(target)]
        if self._label_binarizer.y_type_ == "binary":
            return self.classes_[np.asarray(target).ravel().astype(int)]
        return np.asarray(target).astype(int)

    def _validation_loss(self, raw, target, weight):
        # the model's log-loss: label smoothing is a training device, not the metric
        return LOSSES[self._loss_name](raw, target, weight)

    def _data_loss(self, raw, target, weight):
        eps = getattr(self, "label_smoothing", 0.0)
        if eps > 0:
            return SMOOTHED_LOSSES[self._loss_name](raw, target, weight, eps=eps)
        return super()._data_loss(raw, target, weight)

    def _target_tensor(self, y, device):
        dtype = torch.long if self._multiclass else self._dtype
        return torch.as_tensor(np.asarray(y), dtype=dtype, device=device)

    def _stratify(self, y):
        return y if self._multiclass else (y.ravel() if y.shape[1] == 1 else None)

    def _decode(self, proba):
        if self._multiclass:
            return self.classes_[proba.argmax(axis=1)]
        if self._label_binarizer.y_type_ == "binary":
            return self.classes_[(proba[:, 0] > 0.5).astype(int)]
        return (proba > 0.5).astype(int)

    def _proba_from_raw(self, raw):
        if self._multiclass:
            return torch.softmax(raw, dim=1).numpy()
        return torch.sigmoid(raw).numpy()

    def _score_from_raw(self, raw, target, weight):
        proba = self._proba_from_raw(raw)
        if self._multiclass:
            y_true, y_pred = target.cpu().numpy(), proba.argmax(axis=1)
        else:
            y_true, y_pred = target.cpu().numpy(), (proba > 0.5).astype(int)
        w = None if weight is None else weight.cpu().numpy()
        # accuracy_score's input checks cost more than the epoch's validation pass itself
        correct = y_true == y_pred if y_true.ndim == 1 else (y_true == y_pred).all(axis=1)
        return float(np.average(correct, weights=w))

    def predict_proba(self, X: Input) -> NDArray:
        """Class probabilities.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            For binary problems, columns for ``classes_[0]`` and ``classes_[1]``.
        """
        return self._binary_columns(self._mean_proba(self._predict_raws(X)))

    def _binary_columns(self, proba):
        """Both columns ``(1 - p, p)`` for binary problems' single sigmoid output."""
        if not self._multiclass and self._label_binarizer.y_type_ == "binary":
            proba = np.hstack([1.0 - proba, proba])
        return proba

    def predict_log_proba(self, X: Input) -> NDArray:
        """Logarithm of :meth:`predict_proba`.

        From the logits directly (no ``log(0)``) for one pass; the log of the
        averaged probabilities for ``mc_dropout`` passes.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        log_proba : ndarray of shape (n_samples, n_classes)
        """
        raws = self._predict_raws(X)
        if len(raws) > 1:
            with np.errstate(divide="ignore"):
                return np.log(self._binary_columns(self._mean_proba(raws)))
        raw = raws[0]
        if self._multiclass:
            return torch.log_softmax(raw, dim=1).numpy()
        log_p = torch.nn.functional.logsigmoid(raw).numpy()
        if self._label_binarizer.y_type_ == "binary":
            return np.hstack([torch.nn.functional.logsigmoid(-raw).numpy(), log_p])
        return log_p

    def predict(self, X: Input) -> NDArray:
        """Predicted class labels (an indicator matrix for multilabel problems).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        y : ndarray of shape (n_samples,) or (n_samples, n_classes)
        """
        raws = self._predict_raws(X)
        if len(raws) == 1:  # the logits decide: argmax, or the sign for sigmoid outputs
            raw = raws[0].numpy()
            if self._multiclass:
                return self.classes_[raw.argmax(axis=1)]
            if self._label_binarizer.y_type_ == "binary":
                return self.classes_[(raw[:, 0] > 0).astype(int)]
            return (raw > 0).astype(int)
        return self._decode(self._mean_proba(raws))

    def _mean_proba(self, raws):
        """Probabilities averaged over Monte-Carlo passes (one pass: just the probabilities)."""
        if len(raws) == 1:
            return self._proba_from_raw(raws[0])
        return np.mean([self._proba_from_raw(raw) for raw in raws], axis=0)


    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = True
        return tags
