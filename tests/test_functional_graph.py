"""autograd.functional against torch.autograd.functional beyond the values: with
create_graph=True the results stay differentiable with respect to the caller's inputs (and
with create_graph=False they do not), nesting works, and strict=True raises exactly when
PyTorch does."""

import numpy as np
import pytest

from tinygrad_np import Tensor
from tinygrad_np.autograd import functional as AF
from tinygrad_np.errors import GraphError, TinygradError

torch = pytest.importorskip("torch", reason="PyTorch is the reference here: `.venv/bin/pip "
                            "install torch==2.13.0` (the CPU wheel on disk) enables this file")
pytestmark = pytest.mark.needs_torch
TF = torch.autograd.functional

X0, Y0 = np.array([0.5, -1.2, 2.0]), np.array([1.5, 0.3, -0.7])

# written once for both libraries: only operators and methods they share
FUNCTIONS = {
    "cubic": lambda x, y: (x ** 3 * y).sum(),
    "only x": lambda x, y: (x ** 3).sum(),
    "linear": lambda x, y: (x * 2.0 + y).sum(),
    "detached": lambda x, y: (x.detach() ** 2).sum(),
    "vector": lambda x, y: x ** 2 * y,
}
SCALAR_HELPERS = ("hessian", "hvp", "vhp")
V_PER_INPUT = ("jvp", "hvp", "vhp")


def _flat(res) -> list:
    if isinstance(res, (tuple, list)):
        return [t for r in res for t in _flat(r)]
    return [res]


def _run(lib, helper, fname, requires, create_graph, strict):
    T = Tensor if lib == "ours" else torch.tensor
    x, y = T(X0.copy(), requires_grad=requires[0]), T(Y0.copy(), requires_grad=requires[1])
    f = FUNCTIONS[fname]
    kw = {"create_graph": create_graph, "strict": strict}
    module = AF if lib == "ours" else TF
    if helper in V_PER_INPUT:
        res = getattr(module, helper)(f, (x, y), (T(Y0 * 0.5), T(X0 - 1)), **kw)
    elif helper == "vjp":
        v = T(X0 + 2.0) if fname == "vector" else None
        res = module.vjp(f, (x, y), v, **kw)
    else:
        res = getattr(module, helper)(f, (x, y), **kw)
    return x, y, res


def _np(t):
    return t.data if isinstance(t, Tensor) else t.detach().numpy()


CASES = [(h, f) for h in ("vjp", "jvp", "jacobian", "hessian", "hvp", "vhp") for f in FUNCTIONS
         if not (h in SCALAR_HELPERS and f == "vector")]


@pytest.mark.parametrize("strict", [False, True], ids=["lenient", "strict"])
@pytest.mark.parametrize("create_graph", [False, True], ids=["no graph", "create_graph"])
@pytest.mark.parametrize("requires", [(True, True), (True, False), (False, False)],
                         ids=["both require grad", "x requires grad", "neither"])
@pytest.mark.parametrize("helper,fname", CASES, ids=[f"{h}-{f}" for h, f in CASES])
def test_like_torch(helper, fname, requires, create_graph, strict):
    try:
        tx, ty, want = _run("torch", helper, fname, requires, create_graph, strict)
    except RuntimeError as e:
        with pytest.raises(GraphError):
            _run("ours", helper, fname, requires, create_graph, strict)
        assert "strict" in str(e)
        return
    ox, oy, got = _run("ours", helper, fname, requires, create_graph, strict)
    got, want = _flat(got), _flat(want)
    assert len(got) == len(want)
    for g, w in zip(got, want):
        assert g.shape == tuple(w.shape)
        np.testing.assert_allclose(g.data, w.detach().numpy(), rtol=1e-10, atol=1e-12)
        assert g.requires_grad == w.requires_grad
    live = [k for k, w in enumerate(want) if w.requires_grad]
    if not live:
        return
    sum(want[k].sum() for k in live).backward()
    sum(got[k].sum() for k in live).backward()
    for o, t in ((ox, tx), (oy, ty)):
        assert (o.grad is None) == (t.grad is None)
        if t.grad is not None:
            np.testing.assert_allclose(o.grad.data, t.grad.numpy(), rtol=1e-10)


def test_create_graph_reaches_the_callers_input():
    x = Tensor(np.array([1.0, 2.0]), requires_grad=True)
    J = AF.jacobian(lambda q: (q ** 3).sum(), x, create_graph=True)  # 3 x²
    J.sum().backward()
    np.testing.assert_allclose(x.grad.data, [6.0, 12.0])


def test_jacobian_of_a_jacobian_is_the_hessian():
    def f(q):
        return (q ** 3).sum()

    x0 = np.array([1.0, 2.0])
    got = AF.jacobian(lambda z: AF.jacobian(f, z, create_graph=True), Tensor(x0))
    want = TF.jacobian(lambda z: TF.jacobian(f, z, create_graph=True), torch.tensor(x0))
    np.testing.assert_allclose(got.data, want.numpy())
    np.testing.assert_allclose(got.data, [[6.0, 0.0], [0.0, 12.0]])
    np.testing.assert_allclose(AF.hessian(f, Tensor(x0)).data, got.data)


def test_strict_jacobian_of_a_constant_output_raises():
    with pytest.raises(GraphError, match="does not require grad"):
        AF.jacobian(lambda q: Tensor(np.array([1.0, 2.0])), Tensor(np.array([1.0, 2.0])),
                    strict=True)
    with pytest.raises(RuntimeError):
        TF.jacobian(lambda q: torch.tensor([1.0, 2.0]), torch.tensor([1.0, 2.0]), strict=True)
    zeros = AF.jacobian(lambda q: Tensor(np.array([1.0, 2.0])), Tensor(np.array([1.0, 2.0])))
    np.testing.assert_array_equal(zeros.data, np.zeros((2, 2)))


def test_without_create_graph_the_caller_is_untouched():
    x = Tensor(np.array([1.0, 2.0]), requires_grad=True)
    J = AF.jacobian(lambda q: (q ** 3).sum(), x)
    assert not J.requires_grad and x.grad is None
    with pytest.raises(TinygradError):
        J.sum().backward()
