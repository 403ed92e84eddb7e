"""tinygrad_np: reverse-mode automatic differentiation on NumPy, small enough to read.

``Tensor`` records the ops applied to it and ``backward()`` walks that record; ``autograd``
defines ops and takes gradients of gradients; ``nn`` builds networks, ``optim`` trains them,
``data`` feeds them, ``draw_graph`` shows them and ``gradcheck`` proves them.
"""

import builtins as _builtins

from . import autograd, data, errors, nn, ops, optim
from ._modes import (
    detect_anomaly,
    enable_grad,
    get_default_dtype,
    inference_mode,
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
    DivisionByZeroError,
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
    addmm,
    amax,
    amin,
    argmax,
    argmin,
    argsort,
    bmm,
    cat,
    ceil,
    chunk,
    clamp,
    clamp_max,
    clamp_min,
    concat,
    concatenate,
    cos,
    cross_entropy,
    cumsum,
    dot,
    einsum,
    eq,
    erf,
    exp,
    exp2,
    expand,
    flatten,
    flip,
    floor,
    floor_divide,
    gather,
    ge,
    gelu,
    gt,
    hstack,
    index_select,
    isfinite,
    isinf,
    isnan,
    le,
    linear,
    log,
    log2,
    log10,
    log_softmax,
    logsumexp,
    lt,
    masked_fill,
    masked_select,
    matmul,
    max,
    maximum,
    mean,
    min,
    minimum,
    mm,
    multinomial,
    mv,
    ne,
    nonzero,
    outer,
    permute,
    pow,
    prod,
    reciprocal,
    relu,
    remainder,
    repeat,
    repeat_interleave,
    reshape,
    round,
    sigmoid,
    sign,
    sin,
    softmax,
    softplus,
    sort,
    split,
    sqrt,
    square,
    squeeze,
    stack,
    std,
    sum,
    t,
    tan,
    tanh,
    tensordot,
    topk,
    transpose,
    tril,
    triu,
    trunc,
    unbind,
    unsqueeze,
    var,
    vstack,
    where,
)
from .random import get_rng, manual_seed
from .tensor import (
    Tensor,
    arange,
    empty,
    empty_like,
    eye,
    from_numpy,
    full,
    full_like,
    linspace,
    ones,
    ones_like,
    rand,
    rand_like,
    randint,
    randn,
    randn_like,
    randperm,
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

# PyTorch's dtype aliases (torch.long, torch.float, ...), as the canonical names, so they also
# mean the same to NumPy (np.dtype("float") would be float64). Bound last: from here on, in this
# file only, bool/int/float name dtypes; every other module keeps Python's builtins.
long, int, float, double, half, bool = "int64", "int32", "float32", "float64", "float16", "bool"

# ``from tinygrad_np import *`` must not replace Python's builtins (int, float, bool, and the
# ops named like them: sum, max, min, abs, pow, round)
__all__ = [name for name in dict(globals()) if not name.startswith("_")
           and name not in dir(_builtins) and name != "annotations"]
