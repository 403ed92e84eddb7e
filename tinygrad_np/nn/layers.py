"""Layers: the building blocks of models, with PyTorch's names, arguments, defaults, reprs and
parameter names (``weight``, ``bias``, ``running_mean``, ...).

Linear (this library's (in, out) weight layout), the containers (Sequential, ModuleList,
ModuleDict), Flatten and friends, the activations, Dropout, Conv2d and the pooling layers,
BatchNorm1d/2d and LayerNorm, Embedding, the loss modules and MLP. Each layer's forward is its
function in ``nn.functional``; an error in it is raised again with the layer named first, as in
``Conv2d(3, 16, kernel_size=(3, 3), stride=(1, 1)): expected 3 input channels ...``.
"""

from __future__ import annotations

import math
from collections import OrderedDict

import numpy as np

from .. import ops
from .._modes import no_grad
from ..autograd.function import TensorBase, shared_stamp
from ..errors import ArgumentError, DTypeError, OutOfRangeError, ShapeError, TinygradError
from ..random import get_rng
from ..tensor import Tensor, get_default_dtype
from . import functional as F
from . import init as initializers
from .module import Module


def _named(layer: Module, error: TinygradError, op: str = "") -> TinygradError:
    """``error`` again, its message led by the layer (``MaxPool2d(kernel_size=2, ...): ...``)
    instead of the function's name."""
    message = str(error)
    if op and message.startswith(op + ": "):
        message = message[len(op) + 2:]
    return type(error)(f"{type(layer).__name__}({layer.extra_repr()}): {message}")


def _dtype(dtype, device=None) -> np.dtype:
    if device not in (None, "cpu"):
        raise ArgumentError(f"device={device!r}: tinygrad_np runs on the CPU only; leave device "
                            "out or pass 'cpu'")
    return np.dtype(dtype or get_default_dtype())


class _ParameterType(type):
    def __instancecheck__(cls, obj) -> bool:
        return isinstance(obj, TensorBase) and obj._ctx is None and obj._requires_grad


class Parameter(metaclass=_ParameterType):
    """``nn.Parameter(data)``: a leaf Tensor that requires grad, sharing ``data``'s memory.

    There is no Parameter class of tensors here: any leaf that requires grad, assigned to a
    module's attribute, is a parameter. This returns a plain Tensor, and
    ``isinstance(t, nn.Parameter)`` is true for every leaf tensor that requires grad."""

    def __new__(cls, data=None, requires_grad: bool = True):
        if data is None:
            data = np.empty(0, get_default_dtype())
        t = Tensor(data)
        if isinstance(data, TensorBase):
            t._stamp = shared_stamp(data)  # the same array: writes through either are seen
        return t.requires_grad_(requires_grad)


class Linear(Module):
    """y = x @ weight + bias, with ``weight`` of shape (in_features, out_features).

    The layout is the transpose of PyTorch's (out, in): ``x @ W`` needs no transpose in the
    forward pass, and the shape reads in the direction data flows. Checkpoints from PyTorch need
    ``weight.T``.

    ``init`` names a scheme of ``nn.init`` (default "he_uniform"; also "he", "xavier", "lecun")
    or is a function ``fn(shape, rng, dtype) -> array``; ``bias_init`` likewise (default
    "zeros": PyTorch draws biases from U(-1/sqrt(in), 1/sqrt(in)) instead). ``rng`` defaults
    to the global generator (``tinygrad_np.manual_seed``); the weight is drawn before the bias.
    """

    def __init__(self, in_features: int, out_features: int, bias: bool = True,
                 init="he_uniform", bias_init="zeros", rng=None, dtype=None):
        for what, n in (("in_features", in_features), ("out_features", out_features)):
            if not isinstance(n, (int, np.integer)) or isinstance(n, bool) or n < 0:
                raise ArgumentError(f"Linear: {what} must be an int >= 0 (a number of features), "
                                    f"got {n!r}")
        rng = get_rng(rng)
        dtype = np.dtype(dtype or get_default_dtype())
        self.in_features, self.out_features = int(in_features), int(out_features)
        shape = (self.in_features, self.out_features)
        # an empty weight is left uninitialized, as in PyTorch (the schemes divide by the fans)
        w = initializers.get(init, "Linear")(shape, rng, dtype) if 0 not in shape else \
            np.empty(shape, dtype)
        self.register_parameter("weight", Tensor(np.asarray(w, dtype=dtype), requires_grad=True))
        b = None
        if bias:
            b = initializers.get(bias_init, "Linear")((self.out_features,), rng, dtype)
            b = Tensor(np.asarray(b, dtype=dtype), requires_grad=True)
        self.register_parameter("bias", b)

    def forward(self, x):
        try:
            return ops.linear(x, self.weight, self.bias)
        except ShapeError:
            shape = getattr(x, "shape", None)
            if shape is None or (len(shape) and shape[-1] == self.in_features):
                raise
            raise ShapeError(
                f"{type(self).__name__}({self.extra_repr()}): an input of shape {tuple(shape)} "
                f"has {shape[-1] if shape else 'no'} features in its last dimension, but this "
                f"layer takes {self.in_features} (in_features); flatten images first "
                "(x.flatten(1)) or check the layer sizes"
            ) from None

    def extra_repr(self) -> str:
        bias = "" if self.bias is not None else ", bias=False"
        return f"{self.in_features}, {self.out_features}{bias}"


# --- containers --------------------------------------------------------------------------------


class Sequential(Module):
    """Apply modules (or functions of one Tensor) in order.

    ``Sequential(a, b, c)`` keeps them in ``self.layers``, a list, so parameters are named
    ``layers.0.weight`` (PyTorch: ``0.weight``); ``Sequential(OrderedDict(conv=..., act=...))``
    keeps the dict, named ``layers.conv.weight``, and ``model.conv`` reaches the module."""

    def __init__(self, *layers):
        if len(layers) == 1 and isinstance(layers[0], (dict, OrderedDict)):
            self.layers = dict(layers[0])
        else:
            self.layers = list(layers)

    def _list(self) -> list:
        return list(self.layers.values()) if isinstance(self.layers, dict) else self.layers

    def forward(self, x):
        for layer in self._list():
            x = layer(x)
        return x

    def _key(self, i):
        """The key of ``self.layers`` that position (or name) ``i`` reads."""
        if isinstance(i, str):
            if isinstance(self.layers, dict):
                if i not in self.layers:
                    raise KeyError(i)
                return i
            raise ArgumentError(f"Sequential: {i!r} is a name, but these layers are numbered "
                                "(names exist when it is built from an OrderedDict); index "
                                "with an int")
        if not isinstance(i, (int, np.integer)) or isinstance(i, bool):
            raise ArgumentError(f"Sequential: an index is an int or a slice, got "
                                f"{type(i).__name__}")
        if not -len(self) <= i < len(self):
            raise OutOfRangeError(f"Sequential: index {i} is out of range for {len(self)} layers")
        return list(self.layers)[i] if isinstance(self.layers, dict) else int(i) % len(self)

    def __getitem__(self, i):
        if isinstance(i, slice):
            if isinstance(self.layers, dict):  # keeps the names, as PyTorch
                return Sequential(OrderedDict(list(self.layers.items())[i]))
            return Sequential(*self.layers[i])
        return self.layers[self._key(i)]

    def __setitem__(self, i, module) -> None:
        self.layers[self._key(i)] = module

    def __delitem__(self, i) -> None:
        """Remove a layer (or a slice of them); named layers keep their names."""
        if isinstance(i, slice) and isinstance(self.layers, list):
            del self.layers[i]
        elif isinstance(i, slice):
            for key in list(self.layers)[i]:
                del self.layers[key]
        else:
            del self.layers[self._key(i)]

    def __getattr__(self, name):  # only called for names that are not attributes
        layers = self.__dict__.get("layers")
        if isinstance(layers, dict) and name in layers:
            return layers[name]
        raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")

    def __len__(self) -> int:
        return len(self.layers)

    def __iter__(self):
        return iter(self._list())

    def __add__(self, other) -> Sequential:
        """A new Sequential of both's layers (numbered, as PyTorch)."""
        if not isinstance(other, Sequential):
            raise ArgumentError(f"Sequential + {type(other).__name__}: both sides must be "
                                "Sequential; use extend() to add a list of modules")
        return Sequential(*self._list(), *other._list())

    def __iadd__(self, other) -> Sequential:
        return self.extend(other)

    def append(self, module) -> Sequential:
        if isinstance(self.layers, dict):
            self.layers[str(len(self.layers))] = module
        else:
            self.layers.append(module)
        return self

    def extend(self, modules) -> Sequential:
        for module in list(modules):
            self.append(module)
        return self

    def insert(self, index: int, module) -> Sequential:
        if isinstance(self.layers, dict):
            raise ArgumentError("Sequential.insert: the layers are named (built from an "
                                "OrderedDict), and an inserted layer has no name; build a new "
                                "Sequential(OrderedDict(...)) with it")
        self.layers.insert(index, module)
        return self

    def pop(self, index: int = -1):
        module = self[index]
        del self[index]
        return module


class ModuleList(Module):
    """A list of modules whose parameters are named by position, ``blocks.0.weight``, as in
    PyTorch (each module is stored as the attribute "0", "1", ...)."""

    def __init__(self, modules=None):
        if modules is not None:
            self.extend(modules)

    def _modules(self) -> list:
        return [v for k, v in vars(self).items() if k.isdigit()]

    def _reset(self, modules) -> None:
        for k in [k for k in vars(self) if k.isdigit()]:
            del self.__dict__[k]
        for i, m in enumerate(modules):
            if not isinstance(m, Module):
                raise ArgumentError(f"ModuleList: item {i} is a {type(m).__name__}, not a Module")
            self.__dict__[str(i)] = m

    def __len__(self) -> int:
        return sum(1 for k in vars(self) if k.isdigit())

    def __iter__(self):
        return iter(self._modules())

    def __getitem__(self, i):
        if isinstance(i, slice):
            return ModuleList(self._modules()[i])
        return self._modules()[i]

    def __setitem__(self, i, module) -> None:
        modules = self._modules()
        modules[i] = module
        self._reset(modules)

    def __delitem__(self, i) -> None:
        modules = self._modules()
        del modules[i]
        self._reset(modules)

    def append(self, module) -> ModuleList:
        self._reset(self._modules() + [module])
        return self

    def extend(self, modules) -> ModuleList:
        self._reset(self._modules() + list(modules))
        return self

    def insert(self, index: int, module) -> None:
        modules = self._modules()
        modules.insert(index, module)
        self._reset(modules)

    def __iadd__(self, modules) -> ModuleList:
        return self.extend(modules)

    def __add__(self, other) -> ModuleList:
        return ModuleList(self._modules() + list(other))


class ModuleDict(Module):
    """A dict of modules whose parameters are named by key, ``heads.cls.weight``, as in
    PyTorch (each module is stored as an attribute of that name)."""

    def __init__(self, modules=None):
        self._keys = []
        if modules is not None:
            self.update(modules)

    def _check_key(self, key) -> None:
        if not isinstance(key, str) or not key or "." in key or key.startswith("_") \
                or hasattr(type(self), key) or key.isdigit():
            raise ArgumentError(f"ModuleDict: key {key!r} cannot name a module: use a non-empty "
                                "string without '.', not starting with '_', that is not a number "
                                "or the name of a Module method or attribute")

    def __getitem__(self, key):
        if key not in self._keys:
            raise KeyError(key)
        return self.__dict__[key]

    def __setitem__(self, key, module) -> None:
        self._check_key(key)
        if not isinstance(module, Module):
            raise ArgumentError(f"ModuleDict: {key!r} is a {type(module).__name__}, not a Module")
        if key not in self._keys:
            self._keys.append(key)
        self.__dict__[key] = module

    def __delitem__(self, key) -> None:
        self._keys.remove(key)
        del self.__dict__[key]

    def __contains__(self, key) -> bool:
        return key in self._keys

    def __len__(self) -> int:
        return len(self._keys)

    def __iter__(self):
        return iter(list(self._keys))

    def keys(self):
        return list(self._keys)

    def values(self):
        return [self.__dict__[k] for k in self._keys]

    def items(self):
        return [(k, self.__dict__[k]) for k in self._keys]

    def update(self, modules) -> None:
        for k, m in (modules.items() if hasattr(modules, "items") else modules):
            self[k] = m

    def pop(self, key):
        module = self[key]
        del self[key]
        return module

    def clear(self) -> None:
        for k in list(self._keys):
            del self[k]


# --- shape -------------------------------------------------------------------------------------


class Identity(Module):
    """The input, unchanged (arguments are accepted and ignored, as in PyTorch)"""

    def __init__(self, *args, **kwargs):
        pass

    def forward(self, input):
        return input


class Flatten(Module):
    """Merge dimensions ``start_dim`` to ``end_dim``: (N, C, H, W) -> (N, C*H*W) by default"""

    def __init__(self, start_dim: int = 1, end_dim: int = -1):
        self.start_dim, self.end_dim = start_dim, end_dim

    def forward(self, input):
        try:
            return ops.flatten(input, self.start_dim, self.end_dim)
        except TinygradError as e:
            raise _named(self, e, "flatten") from None

    def extra_repr(self) -> str:
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"


class Unflatten(Module):
    """Split dimension ``dim`` into ``unflattened_size``: Flatten's inverse"""

    def __init__(self, dim: int, unflattened_size):
        self.dim, self.unflattened_size = dim, tuple(unflattened_size)

    def forward(self, input):
        d = self.dim % input.ndim if -input.ndim <= self.dim < input.ndim else self.dim
        try:
            return ops.reshape(input, input.shape[:d] + self.unflattened_size
                               + input.shape[d + 1:])
        except (TinygradError, TypeError) as e:
            raise ShapeError(f"Unflatten({self.extra_repr()}): cannot split dimension "
                             f"{self.dim} of an input of shape {input.shape} into "
                             f"{self.unflattened_size} ({e})") from None

    def extra_repr(self) -> str:
        return f"dim={self.dim}, unflattened_size={self.unflattened_size}"


# --- activations -------------------------------------------------------------------------------


class _Activation(Module):
    """An elementwise function of ``nn.functional``; ``inplace`` as there."""

    def __init__(self, inplace: bool = False):
        self.inplace = inplace

    def extra_repr(self) -> str:
        return "inplace=True" if self.inplace else ""


class ReLU(_Activation):
    """max(x, 0)"""

    def forward(self, input):
        return F.relu(input, self.inplace)


class ReLU6(_Activation):
    """min(max(x, 0), 6)"""

    def forward(self, input):
        return F.relu6(input, self.inplace)


class Hardtanh(_Activation):
    """min(max(x, min_val), max_val), gradient 0 at the bounds"""

    def __init__(self, min_val: float = -1.0, max_val: float = 1.0, inplace: bool = False):
        super().__init__(inplace)
        self.min_val, self.max_val = min_val, max_val

    def forward(self, input):
        return F.hardtanh(input, self.min_val, self.max_val, self.inplace)

    def extra_repr(self) -> str:
        return f"min_val={self.min_val}, max_val={self.max_val}" + (
            ", inplace=True" if self.inplace else "")


class SiLU(_Activation):
    """x * sigmoid(x) (swish)"""

    def forward(self, input):
        return F.silu(input, self.inplace)


class LeakyReLU(_Activation):
    """x if x > 0 else negative_slope * x"""

    def __init__(self, negative_slope: float = 0.01, inplace: bool = False):
        self.negative_slope, self.inplace = negative_slope, inplace

    def forward(self, input):
        return F.leaky_relu(input, self.negative_slope, self.inplace)

    def extra_repr(self) -> str:
        return f"negative_slope={self.negative_slope}" + (", inplace=True" if self.inplace
                                                           else "")


class ELU(_Activation):
    """x if x > 0 else alpha * (exp(x) - 1)"""

    def __init__(self, alpha: float = 1.0, inplace: bool = False):
        self.alpha, self.inplace = alpha, inplace

    def forward(self, input):
        return F.elu(input, self.alpha, self.inplace)

    def extra_repr(self) -> str:
        return f"alpha={self.alpha}" + (", inplace=True" if self.inplace else "")


class GELU(Module):
    """x * Φ(x), exact (erf) or ``approximate="tanh"``"""

    def __init__(self, approximate: str = "none"):
        if approximate not in ("none", "tanh"):
            raise ArgumentError(f"GELU: approximate must be 'none' or 'tanh', got "
                                f"{approximate!r}")
        self.approximate = approximate

    def forward(self, input):
        return F.gelu(input, self.approximate)

    def extra_repr(self) -> str:
        return f"approximate={self.approximate!r}"


class Softplus(Module):
    """log(1 + exp(beta x)) / beta, linear where beta x > threshold"""

    def __init__(self, beta: float = 1.0, threshold: float = 20.0):
        self.beta, self.threshold = beta, threshold

    def forward(self, input):
        return F.softplus(input, self.beta, self.threshold)

    def extra_repr(self) -> str:
        return f"beta={self.beta}, threshold={self.threshold}"


class Tanh(Module):
    """tanh(x)"""

    def forward(self, input):
        return input.tanh()


class Sigmoid(Module):
    """1 / (1 + exp(-x))"""

    def forward(self, input):
        return input.sigmoid()


class _SoftmaxBase(Module):
    def __init__(self, dim=None, *, axis=None):
        if dim is not None and axis is not None and dim != axis:
            raise ArgumentError(f"{type(self).__name__}: got dim={dim} and axis={axis}; give "
                                "one of them")
        self.dim = dim if dim is not None else axis  # None: chosen per input, as F.softmax
        self._keyword = "axis" if dim is None and axis is not None else "dim"

    @property
    def axis(self) -> int:
        return self.dim

    def extra_repr(self) -> str:
        return f"{self._keyword}={self.dim}"


class Softmax(_SoftmaxBase):
    """exp(x) / sum(exp(x)) along ``dim`` (PyTorch's name; NumPy's ``axis=`` also works;
    without either, the last dimension of an input of up to 2 dimensions, see F.softmax)"""

    def forward(self, input):
        return F.softmax(input, self.dim)


class LogSoftmax(_SoftmaxBase):
    """x - logsumexp(x) along ``dim`` (or ``axis``)"""

    def forward(self, input):
        return F.log_softmax(input, self.dim)


class Dropout(Module):
    """Inverted dropout: in training, zero each element with probability ``p`` and scale the
    survivors by 1 / (1 - p), so the expected activation is unchanged; identity in eval mode.

    The mask comes from ``rng`` (default: the global generator at call time)."""

    def __init__(self, p: float = 0.5, inplace: bool = False, *, rng=None):
        if isinstance(inplace, np.random.Generator):  # this library's older Dropout(p, rng)
            inplace, rng = False, inplace
        if not 0.0 <= p <= 1.0:
            raise ArgumentError(f"Dropout: p is the probability of zeroing an element and must be "
                                f"in [0, 1], got {p}")
        self.p, self.inplace, self.rng = p, inplace, rng

    def forward(self, input):
        return F.dropout(input, self.p, self.training, self.inplace, rng=self.rng)

    def extra_repr(self) -> str:
        return f"p={self.p}" + (", inplace=True" if self.inplace else "")


# --- convolution and pooling -------------------------------------------------------------------


def _pair(v, name: str, layer: str):
    return v if isinstance(v, str) else ops._pair(v, name, layer)


class Conv2d(Module):
    """2-D convolution (cross-correlation) over (N, C, H, W) images, as ``torch.nn.Conv2d``.

    ``weight`` has PyTorch's shape (out_channels, in_channels / groups, kH, kW) and ``bias``
    (out_channels,). Both start as PyTorch's do, ``kaiming_uniform_(weight, a=sqrt(5))`` and
    U(-1/sqrt(fan_in), 1/sqrt(fan_in)) for the bias (fan_in = in_channels / groups * kH * kW),
    drawn from ``rng`` (default: the library's generator), the weight first. ``padding`` is an
    int, a pair, "valid" or "same"; only ``padding_mode="zeros"`` exists.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1, padding=0,
                 dilation=1, groups: int = 1, bias: bool = True, padding_mode: str = "zeros",
                 device=None, dtype=None, *, rng=None):
        name = "Conv2d"
        if padding_mode != "zeros":
            raise ArgumentError(f"{name}: padding_mode={padding_mode!r} is not implemented; only "
                                "'zeros' is (pad the input with nn.functional.pad first)")
        for what, n in (("in_channels", in_channels), ("out_channels", out_channels),
                        ("groups", groups)):
            if not isinstance(n, (int, np.integer)) or isinstance(n, bool) or n < 1:
                raise ArgumentError(f"{name}: {what} must be a positive int, got {n!r}")
        if in_channels % groups or out_channels % groups:
            raise ArgumentError(f"{name}: in_channels ({in_channels}) and out_channels "
                                f"({out_channels}) must both be divisible by groups ({groups})")
        if isinstance(padding, str) and padding not in ("same", "valid"):
            raise ArgumentError(f"{name}: padding must be an int, a pair, 'same' or 'valid', "
                                f"got {padding!r}")
        self.in_channels, self.out_channels = in_channels, out_channels
        self.kernel_size = ops._pair(kernel_size, "kernel_size", name)
        self.stride = ops._pair(stride, "stride", name)
        self.padding = _pair(padding, "padding", name)
        self.dilation = ops._pair(dilation, "dilation", name)
        if min(self.kernel_size + self.stride + self.dilation) < 1 or (
                not isinstance(self.padding, str) and min(self.padding) < 0):
            raise ArgumentError(f"{name}: kernel_size, stride and dilation must be >= 1 and "
                                f"padding >= 0, got kernel_size {self.kernel_size}, stride "
                                f"{self.stride}, padding {self.padding}, dilation {self.dilation}")
        if self.padding == "same" and self.stride != (1, 1):
            raise ArgumentError(f"{name}: padding='same' needs stride 1 (as in PyTorch), got "
                                f"stride {self.stride}")
        self.groups, self.padding_mode = groups, padding_mode
        dtype = _dtype(dtype, device)
        shape = (out_channels, in_channels // groups) + self.kernel_size
        self.register_parameter("weight", Tensor(np.empty(shape, dtype), requires_grad=True))
        self.register_parameter("bias", Tensor(np.empty(out_channels, dtype), requires_grad=True)
                                if bias else None)
        self.reset_parameters(rng)

    def reset_parameters(self, rng=None) -> None:
        """PyTorch's initialization, drawn from ``rng``."""
        rng = get_rng(rng)
        initializers.kaiming_uniform_(self.weight, a=math.sqrt(5), generator=rng)
        if self.bias is not None:
            fan_in, _ = initializers._calculate_fan_in_and_fan_out(self.weight)
            bound = 1 / math.sqrt(fan_in) if fan_in else 0.0
            initializers.uniform_(self.bias, -bound, bound, generator=rng)

    def forward(self, input):
        try:
            return F.conv2d(input, self.weight, self.bias, self.stride, self.padding,
                            self.dilation, self.groups)
        except TinygradError as e:
            raise _named(self, e, "conv2d") from None

    def extra_repr(self) -> str:
        s = (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
             f"stride={self.stride}")
        if self.padding != (0, 0):
            s += f", padding={self.padding}"
        if self.dilation != (1, 1):
            s += f", dilation={self.dilation}"
        if self.groups != 1:
            s += f", groups={self.groups}"
        if self.bias is None:
            s += ", bias=False"
        return s


class MaxPool2d(Module):
    """The largest value of each window, as ``torch.nn.MaxPool2d`` (stride defaults to the
    kernel size; gradients go to the first maximum of a window)"""

    def __init__(self, kernel_size, stride=None, padding=0, dilation=1,
                 return_indices: bool = False, ceil_mode: bool = False):
        self.kernel_size = kernel_size
        self.stride = kernel_size if stride is None else stride
        self.padding, self.dilation = padding, dilation
        self.return_indices, self.ceil_mode = return_indices, ceil_mode
        ops._pool_args(kernel_size, self.stride, padding, dilation, "MaxPool2d")

    def forward(self, input):
        try:
            return F.max_pool2d(input, self.kernel_size, self.stride, self.padding,
                                self.dilation, self.ceil_mode, self.return_indices)
        except TinygradError as e:
            raise _named(self, e, "max_pool2d") from None

    def extra_repr(self) -> str:
        return (f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}, "
                f"dilation={self.dilation}, ceil_mode={self.ceil_mode}")


class AvgPool2d(Module):
    """The mean of each window, as ``torch.nn.AvgPool2d`` (padding counts as zeros unless
    ``count_include_pad=False``)"""

    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode: bool = False,
                 count_include_pad: bool = True, divisor_override=None):
        self.kernel_size = kernel_size
        self.stride = kernel_size if stride is None else stride
        self.padding, self.ceil_mode = padding, ceil_mode
        self.count_include_pad, self.divisor_override = count_include_pad, divisor_override
        ops._pool_args(kernel_size, self.stride, padding, 1, "AvgPool2d")

    def forward(self, input):
        try:
            return F.avg_pool2d(input, self.kernel_size, self.stride, self.padding,
                                self.ceil_mode, self.count_include_pad, self.divisor_override)
        except TinygradError as e:
            raise _named(self, e, "avg_pool2d") from None

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class AdaptiveAvgPool2d(Module):
    """Average over a grid of ``output_size`` cells whatever the input size (``(1, 1)``: global
    average pooling); None in ``output_size`` keeps that input dimension"""

    def __init__(self, output_size):
        self.output_size = output_size

    def forward(self, input):
        try:
            return F.adaptive_avg_pool2d(input, self.output_size)
        except TinygradError as e:
            raise _named(self, e, "adaptive_avg_pool2d") from None

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}"


# --- normalization -----------------------------------------------------------------------------


class _BatchNorm(Module):
    """Batch normalization over dimension 1 (channels), as PyTorch's BatchNorm.

    In training the batch's mean and (biased) variance normalize it, and the running statistics
    (buffers: they enter ``state_dict()`` but not ``parameters()``) are updated in place without
    a gradient: ``running = (1 - momentum) running + momentum * batch`` with the unbiased
    variance, or a cumulative average when ``momentum=None``. In eval mode the running
    statistics are used. ``affine`` adds ``weight`` (ones) and ``bias`` (zeros) per channel;
    ``track_running_stats=False`` keeps no running statistics and always uses the batch's."""

    _layouts: tuple = ()  # the accepted input dimensions and what they are called

    def __init__(self, num_features: int, eps: float = 1e-5, momentum=0.1, affine: bool = True,
                 track_running_stats: bool = True, device=None, dtype=None, *, bias: bool = True):
        if not isinstance(num_features, (int, np.integer)) or num_features < 1:
            raise ArgumentError(f"{type(self).__name__}: num_features must be a positive int (the "
                                f"number of channels), got {num_features!r}")
        _positive_eps(type(self).__name__, eps)
        if momentum is not None and not (isinstance(momentum, (int, float, np.integer, np.floating))
                                         and not isinstance(momentum, bool)
                                         and 0.0 <= momentum <= 1.0):
            raise ArgumentError(f"{type(self).__name__}: momentum must be in [0, 1] (the weight "
                                f"of each batch in the running statistics) or None (a "
                                f"cumulative average), got {momentum!r}")
        dtype = _dtype(dtype, device)
        self.num_features, self.eps, self.momentum = num_features, eps, momentum
        self.affine, self.track_running_stats = affine, track_running_stats
        C = num_features
        self.register_parameter("weight", Tensor(np.ones(C, dtype), requires_grad=True)
                                if affine else None)
        self.register_parameter("bias", Tensor(np.zeros(C, dtype), requires_grad=True)
                                if affine and bias else None)
        if track_running_stats:
            self.running_mean = Tensor(np.zeros(C, dtype))
            self.running_var = Tensor(np.ones(C, dtype))
            self.num_batches_tracked = Tensor(np.array(0, np.int64))
        else:
            self.running_mean = self.running_var = self.num_batches_tracked = None

    def reset_running_stats(self) -> None:
        if self.track_running_stats:
            with no_grad():
                self.running_mean.zero_()
                self.running_var.fill_(1.0)
                self.num_batches_tracked.zero_()

    def _check(self, x) -> None:
        ndims = {n for n, _ in self._layouts}
        layouts = " or ".join(layout for _, layout in self._layouts)
        shape = tuple(getattr(x, "shape", ()))
        if len(shape) not in ndims:
            hint = {4: "; for images (N, C, H, W) use BatchNorm2d",
                    2: "; for features (N, C) use BatchNorm1d",
                    3: "; for sequences (N, C, L) use BatchNorm1d"}.get(len(shape), "")
            raise ShapeError(f"expected input of shape {layouts}, got {shape}{hint}")
        C = self.num_features
        if shape[1] != C:
            hint = ""
            if shape[-1] == C:
                perm = ", ".join(["0", str(len(shape) - 1)] + [str(i) for i in
                                                               range(1, len(shape) - 1)])
                hint = (f"; the input looks channels-last: use x.permute({perm}) to bring the "
                        "channels to dimension 1")
            raise ShapeError(f"expected {C} channels (num_features) in dimension 1 of an input "
                             f"of shape {layouts}, got shape {shape}; num_features must be the "
                             f"number of channels the layer before produces{hint}")

    def forward(self, input):
        try:
            self._check(input)
        except TinygradError as e:
            raise _named(self, e) from None
        momentum = 0.0 if self.momentum is None else self.momentum
        if self.training and self.track_running_stats:
            with no_grad():
                self.num_batches_tracked.add_(1)
            if self.momentum is None:  # a cumulative moving average
                momentum = 1.0 / float(self.num_batches_tracked.item())
        use_batch = self.training or self.running_mean is None
        tracked = not self.training or self.track_running_stats
        try:
            return F.batch_norm(input, self.running_mean if tracked else None,
                                self.running_var if tracked else None, self.weight, self.bias,
                                use_batch, momentum, self.eps)
        except TinygradError as e:
            raise _named(self, e, "batch_norm") from None

    def extra_repr(self) -> str:
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, "
                f"affine={self.affine}, bias={self.bias is not None}, "
                f"track_running_stats={self.track_running_stats}")


class BatchNorm1d(_BatchNorm):
    """Batch normalization of features (N, C) or sequences (N, C, L), per channel C"""

    _layouts = ((2, "(N, C)"), (3, "(N, C, L)"))


class BatchNorm2d(_BatchNorm):
    """Batch normalization of images (N, C, H, W), per channel C"""

    _layouts = ((4, "(N, C, H, W)"),)


def _positive_eps(where: str, eps) -> None:
    if not (isinstance(eps, (int, float, np.integer, np.floating)) and not isinstance(eps, bool)
            and eps > 0 and np.isfinite(eps)):
        raise ArgumentError(f"{where}: eps (added to the variance before the square root) must "
                            f"be a finite number > 0, got {eps!r}")


class LayerNorm(Module):
    """Normalize over the last dimensions (``normalized_shape``) of each sample to zero mean
    and unit variance, then scale by ``weight`` (ones) and shift by ``bias`` (zeros), as
    ``torch.nn.LayerNorm``"""

    def __init__(self, normalized_shape, eps: float = 1e-5, elementwise_affine: bool = True,
                 bias: bool = True, device=None, dtype=None):
        shape = (normalized_shape,) if isinstance(normalized_shape, (int, np.integer)) \
            else tuple(normalized_shape)
        if not all(isinstance(n, (int, np.integer)) and n > 0 for n in shape):
            raise ArgumentError(f"LayerNorm: normalized_shape must be an int or a tuple of "
                                f"positive ints, got {normalized_shape!r}")
        _positive_eps("LayerNorm", eps)
        dtype = _dtype(dtype, device)
        self.normalized_shape = tuple(int(n) for n in shape)
        self.eps, self.elementwise_affine = eps, elementwise_affine
        self.register_parameter("weight", Tensor(np.ones(shape, dtype), requires_grad=True)
                                if elementwise_affine else None)
        self.register_parameter("bias", Tensor(np.zeros(shape, dtype), requires_grad=True)
                                if elementwise_affine and bias else None)

    def forward(self, input):
        shape = self.normalized_shape
        got = tuple(getattr(input, "shape", ()))
        if got[len(got) - len(shape):] != shape or len(shape) > len(got):
            last = got[-1] if got else None
            hint = (f"; for features of size {last} in the last dimension use LayerNorm({last})"
                    if last is not None and last != shape[-1] else "")
            if len(shape) == 1 and shape[0] in got[:-1]:
                hint += (f"; the size {shape[0]} is in dimension {got.index(shape[0])}: LayerNorm "
                         "normalizes the last dimensions, so move it last (x.permute(...))")
            raise ShapeError(f"LayerNorm({self.extra_repr()}): normalized_shape {shape} must be "
                             f"the last dimension(s) of the input, got input of shape "
                             f"{got}{hint}")
        return F.layer_norm(input, shape, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return (f"{self.normalized_shape}, eps={self.eps}, "
                f"elementwise_affine={self.elementwise_affine}, bias={self.bias is not None}")


# --- embedding ---------------------------------------------------------------------------------


class Embedding(Module):
    """A lookup table: integer indices of any shape -> rows of ``weight`` (num_embeddings,
    embedding_dim), as ``torch.nn.Embedding``. ``weight`` starts as N(0, 1) draws from ``rng``
    (PyTorch's init); the row ``padding_idx`` starts at zero and gets no gradient."""

    def __init__(self, num_embeddings: int, embedding_dim: int, padding_idx=None, max_norm=None,
                 norm_type: float = 2.0, scale_grad_by_freq: bool = False, sparse: bool = False,
                 _weight=None, _freeze: bool = False, device=None, dtype=None, *, rng=None):
        name = "Embedding"
        for what, n in (("num_embeddings", num_embeddings), ("embedding_dim", embedding_dim)):
            if not isinstance(n, (int, np.integer)) or isinstance(n, bool) or n < 1:
                raise ArgumentError(f"{name}: {what} must be a positive int, got {n!r}")
        if max_norm is not None or scale_grad_by_freq or sparse:
            raise ArgumentError(f"{name}: max_norm, scale_grad_by_freq and sparse are not "
                                "implemented")
        if padding_idx is not None:
            if not -num_embeddings <= padding_idx < num_embeddings:
                raise OutOfRangeError(f"{name}: padding_idx {padding_idx} must be within "
                                      f"[-{num_embeddings}, {num_embeddings}) (num_embeddings)")
            padding_idx = padding_idx % num_embeddings
        self.num_embeddings, self.embedding_dim = num_embeddings, embedding_dim
        self.padding_idx = padding_idx
        dtype = _dtype(dtype, device)
        if _weight is None:
            w = get_rng(rng).standard_normal((num_embeddings, embedding_dim)).astype(dtype)
            if padding_idx is not None:
                w[padding_idx] = 0
        else:
            w = np.array(_weight._data if isinstance(_weight, TensorBase) else _weight,
                         dtype=dtype)
            if w.shape != (num_embeddings, embedding_dim):
                raise ShapeError(f"{name}: _weight has shape {w.shape}, expected "
                                 f"({num_embeddings}, {embedding_dim})")
        # a parameter even when frozen: requires_grad_(True) on the model unfreezes it
        self.register_parameter("weight", Tensor(w, requires_grad=not _freeze))
        initializers._mark_table(self.weight)  # nn.init reads its fans as PyTorch does

    def __setstate__(self, state):  # a copied or unpickled table is read the same way
        self.__dict__.update(state)
        if isinstance(self.__dict__.get("weight"), TensorBase):
            initializers._mark_table(self.weight)

    @classmethod
    def from_pretrained(cls, embeddings, freeze: bool = True, padding_idx=None, max_norm=None,
                        norm_type: float = 2.0, scale_grad_by_freq: bool = False,
                        sparse: bool = False) -> Embedding:
        """An Embedding holding a copy of ``embeddings`` (2-D), frozen unless ``freeze=False``"""
        data = embeddings._data if isinstance(embeddings, TensorBase) else np.asarray(embeddings)
        if data.ndim != 2:
            raise ShapeError(f"Embedding.from_pretrained: embeddings must be 2-D (num_embeddings, "
                             f"embedding_dim), got shape {data.shape}")
        return cls(data.shape[0], data.shape[1], padding_idx, max_norm, norm_type,
                   scale_grad_by_freq, sparse, _weight=data, _freeze=freeze, dtype=data.dtype)

    def forward(self, input):
        try:
            return F.embedding(input, self.weight, self.padding_idx)
        except OutOfRangeError:
            idx = input._data if isinstance(input, TensorBase) else np.asarray(input)
            n = self.num_embeddings
            bad = idx[(idx < 0) | (idx >= n)].flat[0]
            raise OutOfRangeError(
                f"Embedding({self.extra_repr()}): index {bad} is out of range for "
                f"num_embeddings={n} (valid indices: 0..{n - 1}, input of shape {idx.shape}, "
                f"values {idx.min()}..{idx.max()}); num_embeddings must be at least the largest "
                "index + 1 (the vocabulary size)") from None
        except TinygradError as e:
            raise _named(self, e, "embedding") from None

    def extra_repr(self) -> str:
        s = f"{self.num_embeddings}, {self.embedding_dim}"
        return s + (f", padding_idx={self.padding_idx}" if self.padding_idx is not None else "")


# --- losses ------------------------------------------------------------------------------------


def _buffer(value, name: str):
    if value is None:
        return None
    data = value._data if isinstance(value, TensorBase) else np.asarray(value)
    if data.dtype.kind not in "fiu":
        raise DTypeError(f"{name}: expected numbers, got dtype {data.dtype}")
    return Tensor(data.astype(get_default_dtype()) if data.dtype.kind != "f" else data)


class _Loss(Module):
    _fn = ""

    def __init__(self, size_average=None, reduce=None, reduction: str = "mean"):
        self.reduction = F._reduction(reduction, size_average, reduce)
        ops._check_reduction(self.reduction, type(self).__name__)

    def extra_repr(self) -> str:
        return "" if self.reduction == "mean" else f"reduction={self.reduction!r}"


class CrossEntropyLoss(_Loss):
    """``nn.functional.cross_entropy`` as a module: logits (N, C) or (N, C, d1, ...) against
    labels (N, d1, ...) or class probabilities; ``weight`` per class (a buffer)"""

    def __init__(self, weight=None, size_average=None, ignore_index: int = -100, reduce=None,
                 reduction: str = "mean", label_smoothing: float = 0.0):
        super().__init__(size_average, reduce, reduction)
        self.weight = _buffer(weight, "CrossEntropyLoss")
        self.ignore_index, self.label_smoothing = ignore_index, label_smoothing

    def forward(self, input, target):
        try:
            return F.cross_entropy(input, target, self.weight, ignore_index=self.ignore_index,
                                   reduction=self.reduction,
                                   label_smoothing=self.label_smoothing)
        except TinygradError as e:
            raise _named(self, e, "cross_entropy") from None


class NLLLoss(_Loss):
    """``nn.functional.nll_loss`` as a module (input: log-probabilities)"""

    def __init__(self, weight=None, size_average=None, ignore_index: int = -100, reduce=None,
                 reduction: str = "mean"):
        super().__init__(size_average, reduce, reduction)
        self.weight = _buffer(weight, "NLLLoss")
        self.ignore_index = ignore_index

    def forward(self, input, target):
        try:
            return F.nll_loss(input, target, self.weight, ignore_index=self.ignore_index,
                              reduction=self.reduction)
        except TinygradError as e:
            raise _named(self, e, "nll_loss") from None


class MSELoss(_Loss):
    """(input - target)^2, averaged (or summed) over every element"""

    def forward(self, input, target):
        try:
            return F.mse_loss(input, target, reduction=self.reduction)
        except TinygradError as e:
            raise _named(self, e, "mse_loss") from None


class L1Loss(_Loss):
    """|input - target|, averaged (or summed) over every element"""

    def forward(self, input, target):
        try:
            return F.l1_loss(input, target, reduction=self.reduction)
        except TinygradError as e:
            raise _named(self, e, "l1_loss") from None


class BCELoss(_Loss):
    """Binary cross-entropy of probabilities in [0, 1]; ``weight`` per element (a buffer)"""

    def __init__(self, weight=None, size_average=None, reduce=None, reduction: str = "mean"):
        super().__init__(size_average, reduce, reduction)
        self.weight = _buffer(weight, "BCELoss")

    def forward(self, input, target):
        try:
            return F.binary_cross_entropy(input, target, self.weight, reduction=self.reduction)
        except TinygradError as e:
            raise _named(self, e, "binary_cross_entropy") from None


class BCEWithLogitsLoss(_Loss):
    """Binary cross-entropy of sigmoid(input), stable for any input; ``weight`` per element and
    ``pos_weight`` for the positive term (buffers)"""

    def __init__(self, weight=None, size_average=None, reduce=None, reduction: str = "mean",
                 pos_weight=None):
        super().__init__(size_average, reduce, reduction)
        self.weight = _buffer(weight, "BCEWithLogitsLoss")
        self.pos_weight = _buffer(pos_weight, "BCEWithLogitsLoss")

    def forward(self, input, target):
        try:
            return F.binary_cross_entropy_with_logits(input, target, self.weight,
                                                      reduction=self.reduction,
                                                      pos_weight=self.pos_weight)
        except TinygradError as e:
            raise _named(self, e, "binary_cross_entropy_with_logits") from None


ACTIVATIONS = {"relu": ReLU, "tanh": Tanh, "sigmoid": Sigmoid, "gelu": GELU, "silu": SiLU,
               "leaky_relu": LeakyReLU, "elu": ELU, "relu6": ReLU6, "softplus": Softplus}
# He for the ReLU-like ones (they pass about half the signal on), Xavier for the saturating
DEFAULT_INIT = {name: "xavier_uniform" if name in ("tanh", "sigmoid") else "he_uniform"
                for name in ACTIVATIONS}


class MLP(Module):
    """A multilayer perceptron returning logits: Linear, activation (and Dropout), ..., Linear.

    ``sizes`` lists the widths from input to output, e.g. [784, 128, 64, 10]; the Linear layers
    are ``self.layers[i]``. ``activation``: one of relu, tanh, sigmoid, gelu, silu,
    leaky_relu, elu, relu6, softplus (their modules' defaults). ``init`` defaults to Xavier for
    tanh and sigmoid, He for the others.
    ``dropout`` > 0 adds Dropout after every hidden activation.
    """

    def __init__(self, sizes, activation: str = "relu", dropout: float = 0.0, init=None,
                 bias_init="zeros", rng=None, dtype=None):
        if len(sizes) < 2:
            raise ArgumentError(f"MLP: sizes must list at least input and output widths, got "
                                f"{sizes}")
        if activation not in ACTIVATIONS:
            raise ArgumentError(f"MLP: unknown activation {activation!r}; use one of "
                             f"{', '.join(ACTIVATIONS)}")
        rng = get_rng(rng)
        init = init or DEFAULT_INIT[activation]
        self.layers = [Linear(a, b, init=init, bias_init=bias_init, rng=rng, dtype=dtype)
                       for a, b in zip(sizes[:-1], sizes[1:])]
        self.activation = ACTIVATIONS[activation]()
        self.dropout = Dropout(dropout) if dropout else None

    def forward(self, x):
        last = len(self.layers) - 1
        for i, layer in enumerate(self.layers):
            x = layer(x)
            if i < last:
                x = self.activation(x)
                if self.dropout is not None:
                    x = self.dropout(x)
        return x
