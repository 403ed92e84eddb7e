"""tinygrad_np: reverse-mode automatic differentiation on NumPy, small enough to read.

``Tensor`` records the ops applied to it and ``backward()`` walks that record; ``autograd``
defines ops and takes gradients of gradients; ``nn`` builds networks, ``optim`` trains them,
``data`` feeds them, ``draw_graph`` shows them and ``gradcheck`` proves them.
"""

from . import autograd, data, errors, nn, ops, optim
from ._modes import (
    detect_anomaly,
    enable_grad,
    get_default_dtype,
    is_anomaly_enabled,
    is_grad_enabled,
    no_grad,
    set_default_dtype,
    set_grad_enabled,
)
from .autograd import Function, grad, gradcheck, gradgradcheck
from .errors import (
    AnomalyError,
    ArgumentError,
    CheckpointError,
    CheckpointNotFoundError,
    DataError,
    DTypeError,
    GradcheckError,
    GraphError,
    MissingDependencyError,
    NotDefinedError,
    OptimizerError,
    OutOfRangeError,
    ShapeError,
    TinygradError,
)
from .jit import JitError, jit
from .memory import retain_freed_memory
from .ops import (
    abs,
    amax,
    amin,
    argmax,
    argmin,
    cat,
    chunk,
    clamp,
    concatenate,
    cos,
    cross_entropy,
    cumsum,
    einsum,
    eq,
    erf,
    exp,
    expand,
    flatten,
    flip,
    gather,
    ge,
    gelu,
    gt,
    le,
    linear,
    log,
    log_softmax,
    logsumexp,
    lt,
    masked_fill,
    matmul,
    max,
    maximum,
    mean,
    min,
    minimum,
    ne,
    permute,
    pow,
    prod,
    relu,
    repeat,
    reshape,
    sigmoid,
    sin,
    softmax,
    softplus,
    split,
    sqrt,
    squeeze,
    stack,
    std,
    sum,
    tanh,
    tensordot,
    transpose,
    tril,
    triu,
    unbind,
    unsqueeze,
    var,
    where,
)
from .random import get_rng, manual_seed
from .tensor import (
    Tensor,
    arange,
    empty,
    eye,
    from_numpy,
    full,
    full_like,
    linspace,
    ones,
    ones_like,
    rand,
    randint,
    randn,
    tensor,
    toposort,
    zeros,
    zeros_like,
)
from .viz import draw_graph

clip = clamp
float32, float64, float16 = "float32", "float64", "float16"
int64, int32, uint8, bool_ = "int64", "int32", "uint8", "bool"

__version__ = "0.2.0"
