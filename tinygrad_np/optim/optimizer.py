"""The optimizer base class: parameter groups, the step (fused or per parameter), state dicts.

Parameters come in groups, as in PyTorch: ``SGD(model.parameters(), lr=0.1)`` makes one group;
``SGD([{"params": body.parameters()}, {"params": head.parameters(), "lr": 1e-3}], lr=1e-2)``
makes two, each a dict holding its ``"params"`` and every hyperparameter (the constructor's
values unless the group gives its own). ``opt.param_groups[i]["lr"] = ...`` changes one group's
learning rate (the schedulers do that); ``opt.lr`` reads and sets it when there is one group.
Either way the value is checked as the constructor checks it, when it is set (a group is a
``ParamGroup``), so a bad one raises there and never reaches a step.

How a step runs. The small parameters (fewer than ``_fuse_below`` elements: biases, small
layers) of one group and one dtype form a *segment*. At construction their arrays are copied
into one flat buffer and each ``p.data`` becomes a view into it (from then on ``p.data`` stays
the same array for the whole run); their state buffers are flat too. A step copies the
segment's gradients into one flat buffer (one ``np.concatenate``), proves them finite with one
``np.vdot`` (a finite sum of squares proves every element finite; if it is not finite, each
gradient is looked at closer: the sum may have overflowed), then runs the update rule once over
the flat buffers: the NumPy passes of one parameter, for all of them at once. The rules are
element-wise, so this gives the per-parameter result to the bit. A large parameter is updated
on its own, in its own arrays: there the Python calls are cheap beside the passes, and copying
its gradient would cost one more pass. So does a parameter whose array is a view of another
array (writes must reach the array it shares).

A segment takes the per-parameter path for a step when it cannot be fused: a parameter without
a gradient (it is skipped and keeps its own step count), parameters at different step counts,
or a parameter whose ``.data`` was replaced by another array after the optimizer was built
(the new array is updated in place, as before). ``fused=False`` always takes that path and
leaves every ``p.data`` as it was.

Before updating anything ``step()`` checks every gradient's shape and, unless
``check_finite=False``, that it holds no NaN or Inf: a bad gradient raises ``OptimizerError``
naming the parameter (pass ``model.named_parameters()`` for names), and no parameter changes.
"""

from __future__ import annotations

import copy
import weakref

import numpy as np

from .. import _modes
from ..autograd.function import nonfinite as _nonfinite
from ..autograd.function import note_write, note_writes
from ..errors import OptimizerError
from ..tensor import Tensor

# --- hyperparameter checks: (where, key, value) -> the value as the optimizer keeps it ----------
# The same checks run in the constructor, in add_param_group and in load_state_dict, so a state
# read back from a file (where numbers and flags are 0-d arrays) is held to the same rules.


def _scalar(value):
    """A 0-d array (how nn.load returns numbers and flags) as the NumPy scalar it holds."""
    return value[()] if isinstance(value, np.ndarray) and value.ndim == 0 else value


def number(where: str, key: str, value) -> float:
    v = _scalar(value)
    if isinstance(v, (bool, np.bool_)) or not isinstance(v, (int, float, np.integer,
                                                             np.floating)):
        raise OptimizerError(f"{where}: {key} must be a number, got {value!r} "
                             f"({type(value).__name__}); pass a float such as 0.9")
    return float(v)


def nonnegative(where: str, key: str, value) -> float:
    v = number(where, key, value)
    if not v >= 0.0:  # NaN fails too
        raise OptimizerError(f"{where}: {key} must be >= 0, got {v}")
    return v


def unit(where: str, key: str, value) -> float:
    v = number(where, key, value)
    if not 0.0 <= v < 1.0:
        raise OptimizerError(f"{where}: {key} must be in [0, 1), got {v}")
    return v


def flag(where: str, key: str, value) -> bool:
    v = _scalar(value)
    if not isinstance(v, (bool, np.bool_)):
        raise OptimizerError(f"{where}: {key} must be True or False, got {value!r} "
                             f"({type(value).__name__}); a string such as 'False' is not a "
                             "flag (it would read as True)")
    return bool(v)


def betas(where: str, key: str, value) -> tuple[float, float]:
    if not isinstance(value, (tuple, list, np.ndarray)) or np.ndim(value) != 1 \
            or len(value) != 2:
        raise OptimizerError(f"{where}: {key} must be a pair (beta1, beta2) such as "
                             f"(0.9, 0.999), got {value!r}")
    return unit(where, f"{key}[0]", value[0]), unit(where, f"{key}[1]", value[1])


# --- param groups ------------------------------------------------------------------------------


class ParamGroup(dict):
    """A param group: a dict whose hyperparameters are checked when they are set.

    ``opt.param_groups[0]["lr"] = None`` raises ``OptimizerError`` at once, with the group
    unchanged, instead of failing inside the next ``step()`` after some state already moved.
    The checks are those of the constructor (the optimizer's ``_spec`` and ``_check_group``);
    keys the optimizer does not know (a scheduler's ``"initial_lr"``) are stored as given.
    Reading costs what a dict costs, so ``step()`` pays nothing for it.
    """

    __slots__ = ("_owner", "_where")

    def __init__(self, owner: Optimizer, where: str, items: dict):
        super().__init__(items)
        # a weak reference: optimizer -> group -> optimizer would be a cycle, which only the
        # cyclic collector frees (with the parameters' state arrays)
        self._owner, self._where = weakref.ref(owner), where

    def __reduce__(self):
        # pickle sets a dict's items through __setitem__, before or after the slots: rebuild
        # from the items, which were checked when they were set; with no optimizer left, a dict
        owner = self._owner()
        if owner is None:
            return dict, (dict(self),)
        return _rebuilt_group, (owner, self._where, dict(self))

    def __copy__(self) -> dict:  # a copy of one group is a plain dict, as PyTorch's groups are
        return dict(self)

    def __deepcopy__(self, memo):
        owner = self._owner()
        items = copy.deepcopy(dict(self), memo)
        if owner is not None and id(owner) in memo:  # part of a copy of the whole optimizer
            return ParamGroup(memo[id(owner)], self._where, items)
        return items

    def _checked(self, changes: dict) -> dict:
        """``changes`` checked against the group they would make, in the kept types."""
        owner = self._owner()
        if owner is None:  # the optimizer is gone: nothing reads the group any more
            return changes
        spec = owner._spec
        if "params" in changes and changes["params"] is not self.get("params"):
            raise OptimizerError(f"{self._where}: a group's 'params' cannot be replaced (the "
                                 "optimizer keeps state per parameter); add the new "
                                 "parameters with opt.add_param_group({'params': [...]})")
        merged = {**self, **changes}
        try:
            for key in changes:
                if key in spec:
                    merged[key] = spec[key](self._where, key, changes[key])
            owner._check_group(merged, self._where)
        except OptimizerError as e:
            raise OptimizerError(f"{e}; the param group is unchanged") from None
        return {key: merged[key] for key in changes}

    def __setitem__(self, key, value):
        dict.update(self, self._checked({key: value}))

    def update(self, *args, **kwargs):
        dict.update(self, self._checked(dict(*args, **kwargs)))

    def __ior__(self, other):
        self.update(other)
        return self

    def setdefault(self, key, default=None):
        if key not in self:
            self[key] = default
        return dict.__getitem__(self, key)

    def _refuse_removal(self, key) -> None:
        owner = self._owner()
        if key == "params" or (owner is not None and key in owner.defaults):
            raise OptimizerError(f"{self._where}: {key!r} cannot be removed from a param "
                                 f"group (step() needs it); set a new value instead")

    def __delitem__(self, key):
        self._refuse_removal(key)
        dict.__delitem__(self, key)

    def pop(self, key, *default):
        if key in self:
            self._refuse_removal(key)
        return dict.pop(self, key, *default)

    def popitem(self):
        raise OptimizerError(f"{self._where}: a param group's entries cannot be removed "
                             "(step() needs them)")

    clear = popitem


def _rebuilt_group(owner: Optimizer, where: str, items: dict) -> ParamGroup:
    return ParamGroup(owner, where, items)


# --- parameters --------------------------------------------------------------------------------


def _collect(params, where: str) -> tuple[list[Tensor], list[str | None]]:
    """The parameter list and their names (from (name, Tensor) pairs or ``Tensor.name``)."""
    if isinstance(params, Tensor):
        raise OptimizerError(f"{where}: params must be an iterable of Tensors; wrap a single "
                             "tensor in a list: [w]")
    try:
        items = list(params)
    except TypeError:
        raise OptimizerError(f"{where}: params must be an iterable of Tensors, got "
                             f"{type(params).__name__}; pass model.parameters()") from None
    if not items:
        raise OptimizerError(f"{where}: got an empty parameter list; pass model.parameters() "
                             "of a model that has parameters")
    tensors, names, seen = [], [], set()
    for i, item in enumerate(items):
        name = None
        if isinstance(item, tuple) and len(item) == 2 and isinstance(item[0], str):
            name, item = item
        if not isinstance(item, Tensor) or not item.requires_grad:
            raise OptimizerError(
                f"{where}: parameter {name or i} is a {type(item).__name__}"
                f"{'' if not isinstance(item, Tensor) else ' that does not require grad'}; "
                "optimizers take Tensors created with requires_grad=True"
            )
        if id(item) in seen:
            raise OptimizerError(f"{where}: parameter {name or i} (shape {item.shape}) appears "
                                 "twice; it would be updated twice per step")
        seen.add(id(item))
        tensors.append(item)
        names.append(name or item.name)
    return tensors, names


class _Segment:
    """Parameters ``index`` (positions in ``opt.params``) of one group that are updated together.

    Fused (``flat`` is a dict): their arrays, a gradient buffer and a scratch buffer each live in
    one flat array (``flat["param"]``, ``flat["grad"]``, ``flat["tmp"]``), as do their state
    buffers (``state[key]``); ``views[j]`` is parameter j's array, a view into ``flat["param"]``,
    and ``tmps[j]`` its part of the scratch buffer. Not fused (``flat`` is None): one parameter,
    its own arrays.
    """

    __slots__ = ("group", "index", "flat", "state", "views", "tmps", "keys")

    def __init__(self, group: dict, index: list[int], arrays: list[np.ndarray], fused: bool):
        self.group, self.index, self.keys, self.state = group, index, (), {}
        if not fused:
            self.flat, self.views = None, arrays
            self.tmps = [np.empty_like(a) for a in arrays]
            return
        total = sum(a.size for a in arrays)
        dtype = arrays[0].dtype
        self.flat = {"param": np.empty(total, dtype), "grad": np.empty(total, dtype),
                     "tmp": np.empty(total, dtype)}
        self.views = self.split(self.flat["param"], arrays)
        for view, a in zip(self.views, arrays):
            np.copyto(view, a)
        self.tmps = self.split(self.flat["tmp"])

    def split(self, flat: np.ndarray, arrays=None) -> list[np.ndarray]:
        """``flat`` cut into views shaped like the segment's parameters."""
        out, start = [], 0
        for a in arrays if arrays is not None else self.views:
            out.append(flat[start:start + a.size].reshape(a.shape))
            start += a.size
        return out


class Optimizer:
    """Base class: parameter groups, per-parameter state and step counts, the step itself.

    A subclass passes its hyperparameters' defaults to ``Optimizer.__init__(params, defaults)``
    (as in PyTorch) and defines two methods:

    - ``_buffers(group)``: the state buffers a parameter of that group needs, as
      ``{name: initial value}`` (``{}`` for none);
    - ``_apply(p, g, state, tmp, t, group)``: one in-place step of the arrays ``p`` with
      gradient ``g`` (read only), state buffers ``state`` (a dict of arrays like ``p``) and
      scratch array ``tmp``, at step ``t`` >= 1, with the hyperparameters of ``group``. It must
      be element-wise (NumPy ufuncs with ``out=``): it is called with one parameter's arrays or
      with flat buffers holding many.

    A check of its own hyperparameters goes in ``_spec`` (key -> a check such as ``unit``) and
    ``_check_group``.

    ``opt.params`` lists every parameter, group after group; ``opt.state[i]`` (a dict of arrays)
    and ``opt.steps[i]`` belong to ``opt.params[i]`` (PyTorch's ``opt.state`` is a dict keyed
    by the parameter).

    The older form still works: set the hyperparameters named in ``_hyper`` as attributes, call
    ``Optimizer.__init__(params, lr)``, and define ``_new_state(p)`` (the buffers for one
    parameter array) and ``_update(p, g, state, tmp, t)``, which reads ``self.lr`` and the others
    from the group being updated. That form is never fused.
    """

    _spec = {"lr": nonnegative}
    _hyper: tuple[str, ...] = ("lr",)
    _l2 = True  # weight_decay adds weight_decay * p to the gradient (AdamW decays the weights)
    # Parameters of at least this many elements are updated on their own: the copy of the
    # gradient into the flat buffer costs a pass over it, more than the Python calls of a
    # per-parameter update save (measured in benchmarks/optim_step.py); smaller ones are fused.
    _fuse_below = 1 << 15

    def __init__(self, params, defaults, check_finite: bool = True, *, fused: bool | None = None):
        where = type(self).__name__
        d = self.__dict__
        if not isinstance(defaults, dict):  # the older form: Optimizer.__init__(params, lr)
            defaults = {**{k: d.pop(k) for k in self._hyper if k in d}, "lr": defaults}
        fusable = type(self)._buffers is not Optimizer._buffers
        d["_elementwise"] = fusable
        if fused and not fusable:
            raise OptimizerError(f"{where}: fused=True needs an element-wise update "
                                 "(_buffers and _apply); this optimizer defines _update")
        d["defaults"] = self._validated(dict(defaults), where)
        d["check_finite"] = bool(check_finite)
        d["fused"] = fusable and fused is not False
        d["param_groups"], d["params"], d["names"] = [], [], []
        d["state"], d["steps"], d["_segments"], d["_scratch"] = [], [], [], {}
        d["_active_group"] = None
        if isinstance(params, Tensor):
            _collect(params, where)  # raises: wrap a single tensor in a list
        try:
            items = list(params)
        except TypeError:
            items = _collect(params, where)  # raises: pass model.parameters()
        if items and all(isinstance(g, dict) for g in items):
            for group in items:
                self.add_param_group(group, _where=f"{where}: param group")
        else:
            self.add_param_group({"params": items}, _where=where)

    # --- hyperparameters --------------------------------------------------------------------

    def _validated(self, h: dict, where: str) -> dict:
        """``h`` with every known hyperparameter checked and in its normal type."""
        for key, check in self._spec.items():
            if key in h:
                h[key] = check(where, key, h[key])
        self._check_group(h, where)
        return h

    def _check_group(self, h: dict, where: str) -> None:
        """Checks that involve several hyperparameters (SGD: Nesterov needs momentum)."""

    def _single_group(self, name: str) -> dict:
        groups = self.__dict__["param_groups"]
        if len(groups) != 1:
            raise AttributeError(
                f"{type(self).__name__} has {len(groups)} param groups, each with its own "
                f"{name}: read or set opt.param_groups[i][{name!r}]")
        return groups[0]

    def __getattr__(self, name: str):
        # only reached when normal lookup fails: a hyperparameter, read from the group being
        # updated (the older subclass form) or from the only group
        d = self.__dict__
        if "param_groups" in d and name in d["defaults"]:
            group = d["_active_group"] or self._single_group(name)
            return group[name]
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def __setattr__(self, name: str, value) -> None:
        d = self.__dict__
        if "param_groups" in d and name in d["defaults"]:  # opt.lr = 0.1: the only group's
            group = self._single_group(name)
            group.update(self._validated({**group, name: value}, type(self).__name__))
            return
        object.__setattr__(self, name, value)

    # --- parameter groups -------------------------------------------------------------------

    def add_param_group(self, param_group: dict, *, _where: str | None = None) -> None:
        """Add a group of parameters, with hyperparameters of its own (the constructor's values
        for the others), as PyTorch's ``add_param_group``. Its parameters may not be in another
        group already."""
        where = _where or f"{type(self).__name__}.add_param_group"
        if not isinstance(param_group, dict) or "params" not in param_group:
            raise OptimizerError(f"{where}: a param group is a dict with a 'params' entry, as "
                                 "{'params': model.head.parameters(), 'lr': 1e-3}; got "
                                 f"{type(param_group).__name__}")
        params = param_group["params"]
        if isinstance(params, Tensor):  # PyTorch accepts one tensor as a group's params
            params = [params]
        tensors, names = _collect(params, where)
        known = {id(p): i for i, p in enumerate(self.params)}
        for p, name in zip(tensors, names):
            if id(p) in known:
                label = repr(name) if name else f"a parameter of shape {p.shape}"
                raise OptimizerError(f"{where}: {label} is already in param group "
                                     f"{self._group_of(known[id(p)])}; a parameter may be in "
                                     "one group only")
        n = len(self.param_groups)
        if _where is None or _where.endswith("param group"):  # a group the user wrote
            where = f"{_where or where + ': param group'} {n}"
        group = self._validated({**self.defaults, **{k: v for k, v in param_group.items()
                                                     if k != "params"}}, where)
        group = ParamGroup(self, f"{type(self).__name__}: param_groups[{n}]",
                           {"params": tensors, **group})
        start = len(self.params)
        self.params.extend(tensors)
        self.names.extend(names)
        self.steps.extend([0] * len(tensors))
        self.state.extend({} for _ in tensors)
        self.param_groups.append(group)
        self._make_segments(group, list(range(start, start + len(tensors))))

    def _group_of(self, i: int) -> int:
        for k, group in enumerate(self.param_groups):
            if any(p is self.params[i] for p in group["params"]):
                return k
        return -1

    def _make_segments(self, group: dict, index: list[int]) -> None:
        """Fused segments of the group's small parameters, one per dtype, and loose ones for the
        others; kept in parameter order."""
        made, by_dtype = [], {}
        for i in index:
            a = self.params[i]._data
            # a view of another array keeps it (writes must reach the array it shares)
            if self.fused and a.size < self._fuse_below and a.base is None and a.flags.writeable:
                by_dtype.setdefault(a.dtype, []).append(i)
            else:
                made.append(_Segment(group, [i], [a], fused=False))
        for members in by_dtype.values():
            if len(members) == 1:  # nothing to fuse it with: its own arrays are cheaper
                made.append(_Segment(group, members, [self.params[members[0]]._data], False))
                continue
            seg = _Segment(group, members, [self.params[i]._data for i in members], fused=True)
            for i, view in zip(members, seg.views):
                self.params[i]._data = view  # same values; p.data is this view from now on
            made.append(seg)
        made.sort(key=lambda seg: seg.index[0])
        for seg in made:
            self._make_state(seg)
        self._segments.extend(made)

    def _make_state(self, seg: _Segment) -> None:
        """Allocate the segment's state buffers, keeping those it has that are still needed."""
        if not self._elementwise:  # the older form
            for i, a in zip(seg.index, seg.views):
                self.state[i] = self._new_state(a)
            return
        want = self._buffers(seg.group)
        for key, init in want.items():
            if key in seg.keys:
                continue
            if seg.flat is not None:
                flat = seg.state[key] = np.full(seg.flat["param"].size, init,
                                                seg.flat["param"].dtype)
                for i, view in zip(seg.index, seg.split(flat)):
                    self.state[i][key] = view
            else:
                for i, a in zip(seg.index, seg.views):
                    self.state[i][key] = np.full_like(a, init)
        for key in set(seg.keys) - set(want):
            if seg.flat is not None:
                del seg.state[key]
            for i in seg.index:
                del self.state[i][key]
        seg.keys = tuple(want)

    # --- the subclass interface -------------------------------------------------------------

    def _buffers(self, group: dict) -> dict:
        """``{name: initial value}`` of the state buffers for a parameter of ``group``."""
        raise NotImplementedError  # not overridden: the older _new_state/_update form

    def _apply(self, p, g, state, tmp, t, group) -> None:
        # the older form: _update reads the hyperparameters of `group` as attributes
        self.__dict__["_active_group"] = group
        try:
            self._update(p, g, state, tmp, t)
        finally:
            self.__dict__["_active_group"] = None

    def _new_state(self, p: np.ndarray) -> dict:
        raise NotImplementedError(f"{type(self).__name__}: an optimizer subclass defines "
                                  "_buffers(group) and _apply(p, g, state, tmp, t, group) (or "
                                  "the older _new_state(p) and _update(p, g, state, tmp, t))")

    def _update(self, p, g, state, tmp, t) -> None:
        self._new_state(p)  # raises the message above

    # --- the step ---------------------------------------------------------------------------

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Drop every parameter's ``.grad`` (PyTorch's default), or with ``set_to_none=False``
        fill the existing ones with zeros, in place."""
        if set_to_none:
            for p in self.params:
                p._grad = None
            return
        for p in self.params:
            g = p._grad
            if g is None:
                continue
            if g._ctx is None and g._data.flags.writeable:
                g._data.fill(0)
                note_write(g)
            else:  # a gradient with a graph (create_graph=True): detached, as PyTorch does
                p._grad = Tensor(np.zeros_like(g._data))

    def step(self, closure=None):
        """Update every parameter that has a gradient, or raise before changing any.

        ``closure`` (optional, as in PyTorch): a function that recomputes the loss and its
        gradients; it is called first, with grad enabled, and its result returned.
        """
        loss = None
        if closure is not None:
            with _modes.enable_grad():
                loss = closure()
        params, plan, loose = self.params, [], []
        for seg in self._segments:
            g = self._gathered(seg) if seg.flat is not None else None
            if g is None:
                loose += [i for i in seg.index if params[i]._grad is not None]
            plan.append(g)
        if loose:
            self._check_each(loose)
        steps, written, keys = self.steps, [], {}
        for seg, g in zip(self._segments, plan):
            group = seg.group
            if self._elementwise:
                want = keys.get(id(group))
                if want is None:
                    want = keys[id(group)] = tuple(self._buffers(group))
                if want != seg.keys:
                    self._make_state(seg)  # a hyperparameter that needs other buffers changed
            wd = group.get("weight_decay", 0.0) if self._l2 else 0.0
            maximize = group.get("maximize", False)
            if g is not None:  # fused: one update over the flat buffers
                for i in seg.index:
                    steps[i] += 1
                    written.append(params[i])
                p, tmp = seg.flat["param"], seg.flat["tmp"]
                if maximize:  # as PyTorch: the gradient negated first; g is our own copy
                    np.negative(g, out=g)
                if wd:  # L2: the gradient of wd/2 * |p|^2 added
                    np.multiply(p, wd, out=tmp)
                    g += tmp
                self._apply(p, g, seg.state, tmp, steps[seg.index[0]], group)
                continue
            for i, tmp in zip(seg.index, seg.tmps):
                param = params[i]
                if param._grad is None:
                    continue
                steps[i] += 1
                g = param._grad._data
                if wd or maximize:  # the gradient to use, in a scratch buffer: .grad is the user's
                    buf = self._scratch.get(i)
                    if buf is None:
                        buf = self._scratch[i] = np.empty_like(param._data)
                    if not wd:
                        g = np.negative(g, out=buf)
                    else:
                        np.multiply(param._data, wd, out=buf)
                        g = np.subtract(buf, g, out=buf) if maximize else np.add(buf, g, out=buf)
                self._apply(param._data, g, self.state[i], tmp, steps[i], group)
                written.append(param)
        note_writes(written)  # a graph that saved the old values now refuses
        return loss

    def _gathered(self, seg: _Segment) -> np.ndarray | None:
        """The fused segment's gradients copied into its flat buffer and checked, or None when
        it takes the per-parameter path this step."""
        params, steps = self.params, self.steps
        if seg.views[0].base is not seg.flat["param"]:  # a copy (copy.deepcopy) of the views
            return None
        t = steps[seg.index[0]]
        grads = []
        for i, view in zip(seg.index, seg.views):
            p = params[i]
            g = p._grad
            if g is None or p._data is not view or steps[i] != t or g._data.shape != view.shape:
                return None
            grads.append(g._data)
        flat = seg.flat["grad"]
        np.concatenate(grads, axis=None, out=flat)
        if self.check_finite and not np.isfinite(np.vdot(flat, flat)):
            self._check_each(seg.index)  # names the culprit, unless the sum only overflowed
        return flat

    def _label(self, i: int) -> str:
        """``'layers.0.weight' (shape (4, 3))``, or ``parameter 0 (shape (4, 3))`` unnamed."""
        name = repr(self.names[i]) if self.names[i] else f"parameter {i}"
        return f"{name} (shape {self.params[i].shape})"

    def _check_each(self, live: list[int]) -> None:
        where = f"{type(self).__name__}.step"
        for i in live:
            p = self.params[i]
            g = p._grad._data
            if g.shape != p.shape:
                raise OptimizerError(f"{where}: {self._label(i)} has a gradient of shape "
                                     f"{g.shape}; a .grad must have its parameter's shape")
            # a finite sum of squares (one BLAS call, no temporary) proves every element
            # finite; if it is not, look closer: it may have overflowed. (np.vdot, not np.dot:
            # it warns of no overflow, so no np.errstate is needed around it, which costs as
            # much as the product for a small model; tests/test_optim.py checks it stays so)
            flat = g.reshape(-1)
            if (self.check_finite and not np.isfinite(np.vdot(flat, flat))
                    and not np.isfinite(g).all()):
                raise OptimizerError(
                    f"{where}: the gradient of {self._label(i)} has "
                    f"{_nonfinite(g)} values; no parameter was updated. Lower the learning "
                    "rate, check the loss for log(0) or overflow (tinygrad_np.detect_anomaly() "
                    "names the op), or pass check_finite=False to skip this check"
                )

    # --- state --------------------------------------------------------------------------------

    def state_dict(self) -> dict:
        """Param groups (hyperparameters and parameter positions), step counts and copies of
        every state buffer: nested dicts of arrays and numbers, for ``nn.save``."""
        groups, start = {}, 0
        for k, group in enumerate(self.param_groups):
            n = len(group["params"])
            groups[str(k)] = {**{key: v for key, v in group.items() if key != "params"},
                              "params": np.arange(start, start + n)}
            start += n
        return {
            "optimizer": type(self).__name__,
            "param_groups": groups,
            "steps": np.array(self.steps, dtype=np.int64),
            "state": {str(i): {k: v.copy() for k, v in st.items()}
                      for i, st in enumerate(self.state)},
        }

    def load_state_dict(self, state_dict: dict) -> None:
        """Restore ``state_dict()`` output (also as ``nn.load`` returns it), so training resumes
        exactly where it stopped; the saved hyperparameters replace the current ones.

        Everything is checked first, with the constructor's checks: on error (another optimizer,
        other parameters or groups, a hyperparameter out of range or of the wrong type, a bad
        step count) ``OptimizerError`` names the key, and this optimizer is unchanged.
        """
        where = f"{type(self).__name__}.load_state_dict"
        try:
            kind = str(state_dict["optimizer"])
            steps, saved = state_dict["steps"], state_dict["state"]
            if "param_groups" in state_dict:
                groups = state_dict["param_groups"]
            else:  # written before param groups existed: one group
                groups = {"0": {**state_dict["hyperparameters"],
                                "params": np.arange(len(self.params))}}
            groups = [groups[str(k)] for k in range(len(groups))]
            saved.items()
        except (KeyError, TypeError, AttributeError):
            raise OptimizerError(f"{where}: not an optimizer state dict (expected the keys "
                                 "optimizer, param_groups, steps, state, as state_dict() "
                                 "returns)") from None
        if kind != type(self).__name__:
            raise OptimizerError(f"{where}: the state was saved by {kind}, not "
                                 f"{type(self).__name__}")
        n = len(self.params)
        steps = np.asarray(steps)
        if steps.shape != (n,) or len(saved) != n:
            raise OptimizerError(f"{where}: the state holds {len(saved)} parameters, this "
                                 f"optimizer has {n}; build it from the same model")
        if steps.dtype.kind not in "iu" or (steps < 0).any():
            raise OptimizerError(f"{where}: state_dict['steps'] must be step counts (integers "
                                 f">= 0), got {steps.tolist()} of dtype {steps.dtype}")
        if len(groups) != len(self.param_groups):
            raise OptimizerError(f"{where}: the state has {len(groups)} param groups, this "
                                 f"optimizer has {len(self.param_groups)}; build it with the "
                                 "same groups")
        new_groups, start = [], 0
        for k, (own, group) in enumerate(zip(self.param_groups, groups)):
            here = f"{where}: param_groups[{str(k)!r}]"
            m = len(own["params"])
            index = np.asarray(group.get("params", ()))
            if index.shape != (m,) or not np.array_equal(index, np.arange(start, start + m)):
                raise OptimizerError(f"{here} holds parameters {index.tolist()}, this "
                                     f"optimizer's group {k} has {m} parameters from position "
                                     f"{start}; build it with the same groups")
            start += m
            if "maximize" in self.defaults and "maximize" not in group:
                group = {**group, "maximize": False}  # saved before maximize existed: descent
            missing = [key for key in self.defaults if key not in group]
            if missing:
                raise OptimizerError(f"{here}: hyperparameter {missing[0]!r} is missing from "
                                     "the state")
            values = {key: _plain(v) for key, v in group.items() if key != "params"}
            try:
                new_groups.append(self._validated({**own, **values, "params": own["params"]},
                                                  here))
            except OptimizerError as e:
                raise OptimizerError(f"{e}; nothing was loaded. Fix that value in the state "
                                     "dict, or load one that state_dict() wrote") from None
        copies = []
        for seg, group in zip(self._segments, self._groups_of_segments(new_groups)):
            want = self._buffers(group) if self._elementwise else self.state[seg.index[0]]
            for i, a in zip(seg.index, seg.views):
                buffers = saved.get(str(i), {})
                if not isinstance(buffers, dict) or set(buffers) != set(want):
                    raise OptimizerError(
                        f"{where}: {self._label(i)} has state "
                        f"{sorted(buffers) if isinstance(buffers, dict) else buffers!r} in the "
                        f"file but its settings need {sorted(want)}; was it saved with other "
                        "settings (momentum, amsgrad, centered)?")
                for key in want:
                    arr = np.asarray(buffers[key])
                    if arr.shape != a.shape or arr.dtype != a.dtype:
                        raise OptimizerError(
                            f"{where}: state {key!r} of {self._label(i)} has shape {arr.shape} "
                            f"and dtype {arr.dtype} in the file, but {a.shape} and {a.dtype} "
                            "here")
                    copies.append((i, key, arr))
        for own, group in zip(self.param_groups, new_groups):
            own.update(group)
        self.steps[:] = [int(s) for s in steps]
        if self._elementwise:
            for seg in self._segments:
                self._make_state(seg)  # the loaded settings may need other buffers
        for i, key, arr in copies:
            np.copyto(self.state[i][key], arr)

    def _groups_of_segments(self, groups: list[dict]) -> list[dict]:
        """For each segment, the entry of ``groups`` that stands for its group."""
        ids = {id(g): k for k, g in enumerate(self.param_groups)}
        return [groups[ids[id(seg.group)]] for seg in self._segments]

    def __repr__(self) -> str:
        def settings(group):
            return ", ".join(f"{k}={v!r}" for k, v in group.items() if k != "params")

        if len(self.param_groups) == 1:
            return (f"{type(self).__name__}({settings(self.param_groups[0])}; "
                    f"{len(self.params)} parameters)")
        groups = "; ".join(f"group {k}: {settings(g)}, {len(g['params'])} parameters"
                           for k, g in enumerate(self.param_groups))
        return f"{type(self).__name__}({groups})"


def _plain(value):
    """A value from a state dict as a group holds it: 0-d arrays as Python scalars, 1-d arrays
    (betas) as tuples."""
    if isinstance(value, np.ndarray):
        if value.ndim == 0:
            return value.item()
        if value.ndim == 1:
            return tuple(v.item() for v in value)
    return value
