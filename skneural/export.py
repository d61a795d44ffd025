"""Export fitted skneural estimators to ONNX (needs ``pip install skneural[onnx]``).

:func:`to_onnx` traces an estimator's network with torch's TorchScript
exporter and puts the post-processing of ``predict`` and ``predict_proba``
into the graph, so onnxruntime returns what the estimator returns:

======================  =================================  ============================
estimator               graph inputs                       graph outputs
======================  =================================  ============================
MLPClassifier           ``X`` (n, n_features)              ``label``, ``probabilities``
MLPRegressor            ``X`` (n, n_features)              ``variable``
ConvNetClassifier       ``X`` (n, C, L) or (n, C, H, W)    ``label``, ``probabilities``
LSTMSequenceClassifier  ``X`` (n, T, F), ``lengths`` (n,)  ``label``, ``probabilities``
======================  =================================  ============================

The inputs are the tensors the estimator's network reads (``_inputs``; an
MLP with categorical columns adds their int64 ``codes``), in the
estimator's dtype; :func:`onnx_inputs` computes them from any ``X`` that
``predict`` accepts (the ConvNet's rows reshaped to images; the LSTM's
sequences standardized, zero-padded to the longest and counted). The batch
dimension is dynamic, and so is the LSTM's time dimension.

Not exported: :class:`~skneural.MixtureDensityRegressor` (its predictions
are mixtures and their moments, not one graph output) and
:class:`~skneural.GANSampler` (it samples, it has no input rows), nor any
estimator with ``mc_dropout > 0`` (random passes).

Pipelines
---------
:func:`register_skl2onnx` teaches skl2onnx to convert the MLPs, so a
pipeline converts in one call::

    from skl2onnx import to_onnx as skl_to_onnx
    from skneural.export import register_skl2onnx

    register_skl2onnx()
    onx = skl_to_onnx(make_pipeline(StandardScaler(), MLPClassifier()).fit(X, y),
                      X[:1])  # the MLP's outputs: "label", "probabilities"

Without the registration, convert the steps apart, at one opset, and join
the graphs::

    scaler_onx = skl_to_onnx(scaler, X[:1], target_opset=20)
    mlp_onx = onnx.compose.add_prefix(to_onnx(mlp, X_scaled[:1], opset=20), "mlp_")
    onx = onnx.compose.merge_models(scaler_onx, mlp_onx, io_map=[("variable", "mlp_X")])
"""

from __future__ import annotations

import copy
import inspect
import io
import os
import warnings
from typing import TYPE_CHECKING

import numpy as np
import torch
from sklearn.base import BaseEstimator
from torch import nn

from ._convnet import ConvNetClassifier
from ._core.typing import Input, NDArray
from ._core.validation import check_is_fitted
from ._lstm import LSTMSequenceClassifier
from ._mlp import MLPClassifier, MLPRegressor

if TYPE_CHECKING:  # onnx is an optional dependency
    from onnx import ModelProto

__all__ = ["onnx_inputs", "register_skl2onnx", "to_onnx"]

CLASSIFIERS = (MLPClassifier, ConvNetClassifier, LSTMSequenceClassifier)
SUPPORTED = (*CLASSIFIERS, MLPRegressor)

#: the highest opset of torch.onnx's TorchScript exporter (torch 2.13)
TORCHSCRIPT_MAX_OPSET = 20
#: the exporter's notes that do not apply here (the LSTM's initial states are
#: traced from the batch size, so other batch sizes run; see tests/test_onnx.py)
QUIET_EXPORT_NOTES = ("Constant folding - Only steps=1",
                      "Exporting a model to ONNX with a batch_size other than 1",
                      "Exporting aten::index operator of advanced indexing")


def _import_onnx():
    try:
        import onnx
    except ImportError as exc:  # pragma: no cover - exercised only without onnx
        raise ImportError("skneural.export needs onnx: pip install 'skneural[onnx]' "
                          "(onnx, and onnxruntime to run the models).") from exc
    return onnx


# ------------------------------------------------------------------- checks
def _check_exportable(estimator):
    """Refuse estimators whose predictions one deterministic graph cannot reproduce."""
    if not isinstance(estimator, SUPPORTED):
        raise TypeError(
            f"to_onnx exports {', '.join(cls.__name__ for cls in SUPPORTED)}; got "
            f"{type(estimator).__name__}, which it cannot convert."
        )
    check_is_fitted(estimator, "module_")
    if getattr(estimator, "mc_dropout", 0):
        raise ValueError(
            f"mc_dropout={estimator.mc_dropout} averages random dropout passes, which a "
            "deterministic ONNX graph cannot reproduce; export after set_params(mc_dropout=0)."
        )


def _forward_arguments(network):
    parameters = inspect.signature(network.forward).parameters.values()
    return [p.name for p in parameters if p.kind == p.POSITIONAL_OR_KEYWORD]


def _input_names(estimator, n_inputs):
    """``"X"``, then the names of the network's ``forward`` arguments (``"lengths"``, ...)."""
    names = _forward_arguments(estimator.module_)
    if len(names) != n_inputs:  # a forward(*inputs): numbered names
        names = [f"X_{i}" for i in range(n_inputs)]
    return ["X", *names[1:]]


def onnx_inputs(estimator: BaseEstimator, X: Input) -> dict[str, NDArray]:
    """The inputs of ``to_onnx(estimator, ...)``'s graph for rows ``X``.

    Parameters
    ----------
    estimator : fitted estimator supported by :func:`to_onnx`
    X : array-like or list of sequences
        Anything ``estimator.predict`` accepts.

    Returns
    -------
    feeds : dict of str to ndarray
        Input name -> array, ready for ``onnxruntime.InferenceSession.run``.
    """
    _check_exportable(estimator)
    tensors = estimator._inputs(estimator._validate_X(X, reset=False), torch.device("cpu"))
    names = _input_names(estimator, len(tensors))
    return {name: tensor.numpy() for name, tensor in zip(names, tensors)}


# ----------------------------------------------------------- graph modules
class _ClassifierOutputs(nn.Module):
    """network -> (label index, probabilities), as ``predict`` and ``predict_proba`` compute them."""

    def __init__(self, network, kind):
        super().__init__()
        self.network, self.kind = network, kind

    def forward(self, *inputs):
        raw = self.network(*inputs)  # (B, n_outputs) logits
        if self.kind == "multiclass":
            return raw.argmax(dim=1), torch.softmax(raw, dim=1)
        proba = torch.sigmoid(raw)
        if self.kind == "binary":  # one logit: its sign picks the class
            return (raw[:, 0] > 0).to(torch.int64), torch.cat([1.0 - proba, proba], dim=1)
        return (raw > 0).to(torch.int64), proba  # multilabel indicator


class _RegressorOutput(nn.Module):
    """network -> predictions in the target's units (unscaled, or exp for poisson)."""

    def __init__(self, network, mean, scale, poisson, single_output):
        super().__init__()
        self.network, self.poisson, self.single_output = network, poisson, single_output
        dtype = next(network.parameters()).dtype
        self.register_buffer("mean", torch.as_tensor(mean, dtype=dtype))
        self.register_buffer("scale", torch.as_tensor(scale, dtype=dtype))

    def forward(self, *inputs):
        raw = self.network(*inputs)  # (B, n_outputs)
        pred = raw.exp() if self.poisson else raw * self.scale + self.mean
        return pred[:, 0] if self.single_output else pred


def _one_direction(lstm, suffix):
    """A one-layer unidirectional ``nn.LSTM`` holding the weights of one direction of ``lstm``."""
    single = nn.LSTM(lstm.input_size, lstm.hidden_size, batch_first=True, bias=lstm.bias)
    single.load_state_dict({name: getattr(lstm, f"{name}{suffix}")
                            for name, _ in single.named_parameters()})
    return single.to(lstm.weight_ih_l0.dtype)


class _TraceableSequenceNet(nn.Module):
    """``LSTMSequenceNet.forward`` without packing, so it traces with dynamic batch and time.

    The estimator packs sequences to keep padding out of its LSTMs. A forward
    LSTM may as well run over the padding: its output at a valid step never
    sees a later step. A backward LSTM runs here over each sequence reversed
    within its own length, and its outputs are put back in place. Both then
    equal the packed outputs at every valid step, and the summaries read valid
    steps only.
    """

    def __init__(self, net):
        super().__init__()
        self.net = net
        self.directions = nn.ModuleList(
            nn.ModuleList([_one_direction(lstm, ""), _one_direction(lstm, "_reverse")])
            if lstm.bidirectional else nn.ModuleList([lstm]) for lstm in net.lstms)

    def forward(self, x, lengths):  # x (B, T, F) zero-padded, lengths (B,)
        net = self.net
        steps = torch.arange(x.shape[1], device=x.device)[None, :]  # (1, T)
        mask = steps < lengths[:, None]  # (B, T)
        # the reversed sequence reads step L - 1 - t at step t; padded steps stay put
        flip = torch.where(mask, lengths[:, None] - 1 - steps, steps)
        h, pooled = x, None
        if net.conv is not None:
            features = net.conv(x, mask)  # (B, T, C)
            pooled = features.sum(dim=1) / lengths[:, None].to(x.dtype)
            if net.conv_layout == "stacked":
                h = features
        for directions, norm in zip(self.directions, net.norms):
            outputs = [directions[0](h)[0]]  # (B, T, H)
            if len(directions) == 2:
                index = flip[:, :, None].expand(-1, -1, h.shape[2])
                backward = directions[1](torch.gather(h, 1, index))[0]
                outputs.append(torch.gather(backward, 1, flip[:, :, None].expand_as(backward)))
            h = norm(torch.cat(outputs, dim=2))  # (B, T, D); dropout is off in eval
        summary = net._summarize(h, mask, lengths)
        if pooled is not None:
            summary = torch.cat([summary, pooled], dim=1)
        return net.out(summary)


class _Float32Compute(nn.Module):
    """Run ``network`` in float32 between float64 inputs and outputs.

    onnxruntime's CPU provider has no float64 kernels for convolutions and
    LSTMs ("LSTM operator does not support double yet"), so float64 networks
    with either compute in float32 inside the graph.
    """

    def __init__(self, network):
        super().__init__()
        self.network = network.float()

    def forward(self, *inputs):
        inputs = [x.float() if x.is_floating_point() else x for x in inputs]
        return self.network(*inputs).double()


def _needs_float32(network):
    """Whether ``network`` has layers that onnxruntime cannot run in float64."""
    kinds = (nn.Conv1d, nn.Conv2d, nn.LSTM)
    return any(isinstance(m, kinds) for m in network.modules())


def _check_traceable(network, traceable, inputs):
    """Refuse a traceable rewrite that disagrees with the network it rewrites on ``inputs``."""
    with torch.no_grad():
        expected, got = network(*inputs), traceable(*inputs)
    if not torch.allclose(expected, got, rtol=1e-5, atol=1e-6):
        raise RuntimeError(  # LSTMSequenceNet changed in a way this module does not follow
            "The traceable copy of the LSTM network disagrees with the network on X_sample "
            f"(max difference {float((expected - got).abs().max()):.3g}); please report this."
        )


def _network(estimator, inputs):
    """An eval-mode CPU copy of the estimator's network that traces for any batch."""
    network = copy.deepcopy(estimator.module_).to("cpu").eval()
    if isinstance(estimator, LSTMSequenceClassifier):
        traceable = _TraceableSequenceNet(network).eval()
        _check_traceable(network, traceable, inputs)
        network = traceable
    if estimator._dtype == torch.float64 and _needs_float32(network):
        network = _Float32Compute(network).eval()
    return network


def _classifier_kind(estimator):
    if estimator._multiclass:
        return "multiclass"
    return "binary" if estimator._label_binarizer.y_type_ == "binary" else "multilabel"


def _graph_module(estimator, inputs):
    """The network wrapped with the post-processing of ``predict``/``predict_proba``."""
    network = _network(estimator, inputs)
    if isinstance(estimator, CLASSIFIERS):
        return _ClassifierOutputs(network, _classifier_kind(estimator))
    return _RegressorOutput(network, estimator._y_mean, estimator._y_scale,
                            estimator.loss == "poisson", estimator.n_outputs_ == 1)


# ------------------------------------------------------------------ export
def _as_onnx_array(classes):
    """``classes_`` as an array ONNX can hold (strings as an object array)."""
    classes = np.asarray(classes)
    return classes.astype(object) if classes.dtype.kind in "USO" else classes


def _look_up_labels(onnx, model, classes):
    """Replace the graph's first output, class indices, by ``label = classes[index]``."""
    graph = model.graph
    index, *others = list(graph.output)
    table = onnx.numpy_helper.from_array(_as_onnx_array(classes), name="classes")
    graph.initializer.append(table)
    graph.node.append(onnx.helper.make_node("Gather", ["classes", index.name], ["label"],
                                            axis=0, name="label_lookup"))
    label = onnx.helper.make_tensor_value_info("label", table.data_type, ["batch"])
    del graph.output[:]
    graph.output.extend([label, *others])


def _export(module, inputs, input_names, output_names, dynamic_axes, opset):
    """``torch.onnx.export`` with the TorchScript exporter, as serialized bytes."""
    buffer = io.BytesIO()
    with warnings.catch_warnings(), torch.no_grad():
        # the TorchScript exporter is deprecated in favour of the dynamo one, which
        # needs onnxscript; it still exports these networks exactly
        warnings.simplefilter("ignore", DeprecationWarning)
        # nn.LSTM checks its arguments' shapes in Python, which the tracer flags
        warnings.filterwarnings("ignore", category=torch.jit.TracerWarning,
                                module="torch.nn.modules.rnn")
        # notes on how ops export; the tests run other batch sizes than the sample's
        for note in QUIET_EXPORT_NOTES:
            warnings.filterwarnings("ignore", message=note, category=UserWarning)
        torch.onnx.export(module, inputs, buffer, input_names=input_names,
                          output_names=output_names, dynamic_axes=dynamic_axes,
                          opset_version=opset, dynamo=False)
    return buffer.getvalue()


def to_onnx(estimator: BaseEstimator, X_sample: Input, *,
            path: str | os.PathLike | None = None, opset: int | None = None) -> ModelProto:
    """Convert a fitted estimator to an ONNX model computing its predictions.

    Parameters
    ----------
    estimator : MLPClassifier, MLPRegressor, ConvNetClassifier or \
LSTMSequenceClassifier
        A fitted estimator with ``mc_dropout=0``.
    X_sample : array-like or list of sequences
        A few rows as ``predict`` accepts them, traced through the network;
        the graph works for any number of rows (and any sequence lengths).
    path : str or path-like, default=None
        Where to also write the model, if given.
    opset : int, default=None
        ONNX opset of the model; ``None`` is torch's default.

    Returns
    -------
    model : onnx.ModelProto
        A graph whose inputs are those of :func:`onnx_inputs` in the
        estimator's dtype: ``"X"``, the rows (an MLP's (n, n_features), the
        ConvNet's images (n, C, L) or (n, C, H, W), the LSTM's standardized
        zero-padded sequences (n, T, F)), plus for the LSTM ``"lengths"``
        (n,) int64, the valid steps of each sequence. Further tensors are
        named after the network's ``forward`` arguments: an MLP with
        categorical columns also reads their ``"codes"`` (n, n_categorical)
        int64.

        Classifiers output ``"label"``, equal to ``predict`` (the labels of
        ``classes_``, whatever their type; a 0/1 int64 indicator matrix for
        multilabel problems), and ``"probabilities"``, equal to
        ``predict_proba``; regressors output ``"variable"``, equal to
        ``predict`` ((n,) for one output, (n, n_outputs) for more). Floats are
        in the estimator's dtype (float32 for a model fitted on float32 rows,
        whose ``predict_proba`` returns float64).

    Raises
    ------
    TypeError
        For estimators other than the four above.
    ValueError
        For unfitted estimators and ``mc_dropout > 0``.

    Notes
    -----
    The graph runs the network in eval mode: dropout is off, batch norm uses
    its running statistics, as in ``predict``. onnxruntime has no float64
    convolutions or LSTMs, so a float64 ConvNet or LSTM computes its network
    in float32 between float64 inputs and outputs (probabilities then agree
    with ``predict_proba`` to about 1e-7 on small networks). The LSTM's sequences run unpacked:
    each backward direction reads its sequence reversed within its length,
    which gives the packed outputs exactly; ``to_onnx`` checks that on
    ``X_sample`` before exporting.

    See Also
    --------
    onnx_inputs : The graph's inputs for rows as ``predict`` takes them.
    register_skl2onnx : Convert pipelines that end in an MLP with skl2onnx.
    """
    onnx = _import_onnx()
    feeds = onnx_inputs(estimator, X_sample)  # checks the estimator too
    inputs = tuple(torch.from_numpy(array) for array in feeds.values())
    module = _graph_module(estimator, inputs)
    classifier = isinstance(estimator, CLASSIFIERS)
    multilabel = classifier and _classifier_kind(estimator) == "multilabel"
    outputs = (["label" if multilabel else "label_index", "probabilities"] if classifier
               else ["variable"])
    dynamic_axes = {name: {0: "batch"} for name in [*feeds, *outputs]}
    if isinstance(estimator, LSTMSequenceClassifier):
        dynamic_axes["X"][1] = "time"  # sequences of any length
    model = onnx.load_from_string(_export(module, inputs, list(feeds), outputs, dynamic_axes,
                                          opset))
    if classifier and not multilabel:
        _look_up_labels(onnx, model, estimator.classes_)
    model.producer_name = "skneural"
    model.doc_string = f"{type(estimator).__name__} exported by skneural.export.to_onnx"
    onnx.checker.check_model(model)
    if path is not None:
        onnx.save(model, path)
    return model


# ---------------------------------------------------------------- skl2onnx
def _skl2onnx_tensor_type(elem_type, dims):
    """The skl2onnx variable type of an ONNX element type."""
    from skl2onnx.common import data_types as types

    onnx = _import_onnx()
    kinds = {onnx.TensorProto.FLOAT: types.FloatTensorType,
             onnx.TensorProto.DOUBLE: types.DoubleTensorType,
             onnx.TensorProto.INT64: types.Int64TensorType,
             onnx.TensorProto.INT32: types.Int32TensorType,
             onnx.TensorProto.BOOL: types.BooleanTensorType,
             onnx.TensorProto.STRING: types.StringTensorType}
    return kinds[elem_type](dims)


def _skl2onnx_shapes(operator):
    """skl2onnx's shape calculator: the types of ``to_onnx``'s outputs."""
    onnx = _import_onnx()
    estimator = operator.raw_operator
    n_rows = operator.inputs[0].get_first_dimension()
    floats = onnx.TensorProto.DOUBLE if estimator._dtype == torch.float64 else onnx.TensorProto.FLOAT
    if isinstance(estimator, MLPRegressor):
        n_outputs = estimator.n_outputs_
        operator.outputs[0].type = _skl2onnx_tensor_type(
            floats, [n_rows] if n_outputs == 1 else [n_rows, n_outputs])
        return
    n_classes = len(estimator.classes_)
    if _classifier_kind(estimator) == "multilabel":
        label = _skl2onnx_tensor_type(onnx.TensorProto.INT64, [n_rows, n_classes])
    else:
        classes = onnx.numpy_helper.from_array(_as_onnx_array(estimator.classes_))
        label = _skl2onnx_tensor_type(classes.data_type, [n_rows])
    operator.outputs[0].type = label
    operator.outputs[1].type = _skl2onnx_tensor_type(floats, [n_rows, n_classes])


def _skl2onnx_convert(scope, operator, container):
    """skl2onnx's converter: ``to_onnx``'s graph, inlined with the pipeline's names."""
    onnx = _import_onnx()
    estimator = operator.raw_operator
    arguments = _forward_arguments(estimator.module_)
    if len(arguments) != 1:
        raise ValueError(
            f"register_skl2onnx's converter handles networks of one input; this "
            f"{type(estimator).__name__}'s reads {arguments} (categorical columns?); "
            "convert it alone with skneural.export.to_onnx."
        )
    dtype = np.float64 if estimator._dtype == torch.float64 else np.float32
    with warnings.catch_warnings():  # a model fitted on a DataFrame traces plain rows
        warnings.filterwarnings("ignore", message="X does not have valid feature names")
        graph = to_onnx(estimator, np.zeros((1, estimator.n_features_in_), dtype=dtype),
                        opset=min(container.target_opset, TORCHSCRIPT_MAX_OPSET)).graph
    source, wanted = operator.inputs[0], graph.input[0].type.tensor_type.elem_type
    names = {graph.input[0].name: source.full_name}
    if source.type.to_onnx_type().tensor_type.elem_type != wanted:
        names[graph.input[0].name] = scope.get_unique_variable_name("X_cast")
        container.add_node("Cast", source.full_name, names[graph.input[0].name], to=wanted,
                           name=scope.get_unique_operator_name("Cast"))
    names.update({out.name: var.full_name for out, var in zip(graph.output, operator.outputs)})

    def rename(name):
        if name and name not in names:
            names[name] = scope.get_unique_variable_name(name)
        return names.get(name, name)

    for tensor in graph.initializer:
        container.add_initializer(rename(tensor.name), tensor.data_type, list(tensor.dims),
                                  onnx.numpy_helper.to_array(tensor).ravel().tolist())
    for node in graph.node:
        attributes = {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}
        container.add_node(node.op_type, [rename(name) for name in node.input],
                           [rename(name) for name in node.output], op_domain=node.domain,
                           name=scope.get_unique_operator_name(node.op_type), **attributes)


def register_skl2onnx() -> None:
    """Register :class:`~skneural.MLPClassifier` and :class:`~skneural.MLPRegressor` with skl2onnx.

    Afterwards ``skl2onnx.to_onnx`` converts pipelines that contain them (a
    ``StandardScaler`` before an MLP, say): each MLP becomes the graph of
    :func:`to_onnx`, its input cast to the MLP's dtype where the step
    before it computes in another. A classifier's outputs are ``label`` and
    ``probabilities`` tensors (no ZipMap; skl2onnx's ``zipmap`` option does
    not apply), a regressor's ``variable``. Calling it again is harmless.

    Returns
    -------
    None

    Raises
    ------
    ImportError
        Without skl2onnx.
    """
    try:
        from skl2onnx import update_registered_converter
    except ImportError as exc:  # pragma: no cover - exercised only without skl2onnx
        raise ImportError("register_skl2onnx needs skl2onnx: pip install skl2onnx") from exc
    for cls in (MLPClassifier, MLPRegressor):
        update_registered_converter(cls, f"Skneural{cls.__name__}", _skl2onnx_shapes,
                                    _skl2onnx_convert)
