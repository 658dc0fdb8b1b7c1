"""haliax.nn.Stacked and BlockSeq: construction, fold/scan/vmap, layer access, errors."""

import dataclasses
import warnings

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import haliax as hax
import haliax.nn as hnn
from haliax import NamedArray
from haliax.nn.scan import BlockFoldable

L, E, H, Batch = hax.make_axes(L=4, E=6, H=8, batch=3)


class Block(eqx.Module):
    """A small residual MLP block taking per-layer and shared extra arguments."""

    up: hnn.Linear
    down: hnn.Linear
    tag: int = 7  # a non-array leaf: stays a single value in a Stacked

    @staticmethod
    def init(E, H, *, key, tag=7):
        k1, k2 = jax.random.split(key)
        return Block(hnn.Linear.init(E, H, key=k1), hnn.Linear.init(H, E, key=k2), tag)

    def __call__(self, x, scale=1.0, shift=None, *, key=None):
        h = hax.tanh(self.up(x))
        if key is not None:
            h = h * (1.0 + 0.1 * NamedArray(jax.random.normal(key, tuple(a.size for a in h.axes)), h.axes))
        out = x + self.down(h) * scale
        if shift is not None:
            out = out + shift
        return out

    def with_output(self, x, scale=1.0, shift=None, *, key=None):
        y = self(x, scale, shift, key=key)
        return y, hax.sum(y, "E")


def _build(cls, key=0, **kw):
    keys = jax.random.split(jax.random.PRNGKey(key), L.size)
    return cls.init(L, Block, **kw)(E, H, key=keys)


_CACHE: dict = {}


def _built(cls, **kw):
    """Built once per test session (eager construction of a vmapped init is many small dispatches)."""
    k = (cls, tuple(sorted(kw.items())))
    if k not in _CACHE:
        _CACHE[k] = eqx.filter_jit(lambda: _build(cls, **kw))()
    return _CACHE[k]


def _x(seed=1):
    return NamedArray(jax.random.normal(jax.random.PRNGKey(seed), (Batch.size, E.size)), (Batch, E))


def _extras():
    scale = hax.arange(L) * 0.25 + 0.5  # per layer (has L)
    shift = NamedArray(jnp.linspace(-1, 1, E.size), (E,))  # shared (no L)
    # per-layer keys (typed "rbg" keys: cheap to compile, unlike threefry's unrolled hash)
    keys = jax.random.split(jax.random.key(5, impl="rbg"), L.size)
    return scale, shift, keys


def _loop(layers, x, scale, shift, keys):
    outs = []
    for i, layer in enumerate(layers):
        x, o = layer.with_output(x, scale["L", i], shift, key=keys[i])
        outs.append(o)
    return x, outs


@eqx.filter_jit
def _everything(stacked, seq, x, scale, shift, keys):
    f_s = stacked.fold(x, scale, shift=shift, key=keys)
    f_b = seq.fold(x, scale, shift=shift, key=keys)
    c_s, o_s = stacked.scan_via(Block.with_output)(x, scale, shift, key=keys)
    c_b, o_b = seq.scan_via(Block.with_output)(x, scale, shift, key=keys)
    c_l, o_l = _loop(stacked.unstacked(), x, scale, shift, keys)

    def loss(m, x):
        return hax.sum(m.fold(x, scale, shift=shift, key=keys)).array

    g_s = eqx.filter_grad(loss)(stacked, x)
    g_b = eqx.filter_grad(loss)(seq, x)
    return (f_s, f_b, c_s, c_b, c_l), (o_s, o_b, o_l), (g_s, g_b)


def test_stacked_blockseq_loop_agree_fold_scan_and_grads():
    s, b = _built(hnn.Stacked), _built(hnn.BlockSeq)
    for i in range(L.size):  # same key, same layers
        np.testing.assert_array_equal(s.get_layer(i).up.weight.array, b.blocks[i].up.weight.array)
    (f_s, *others), (o_s, o_b, o_l), (g_s, g_b) = _everything(s, b, _x(), *_extras())
    for a in others:
        np.testing.assert_allclose(a.array, f_s.array, atol=1e-5)
    assert o_s.axes == (L, Batch) and o_b.axes == (L, Batch)
    np.testing.assert_allclose(o_s.array, o_b.array, atol=1e-5)
    np.testing.assert_allclose(o_s.array, jnp.stack([o.array for o in o_l]), atol=1e-5)
    for i in range(L.size):
        for a, b in zip(jax.tree.leaves(g_s.get_layer(i)), jax.tree.leaves(g_b.blocks[i]), strict=True):
            np.testing.assert_allclose(a, b, atol=1e-5)


def test_eager_matches_jit():
    s = _built(hnn.Stacked)
    x = _x()
    np.testing.assert_allclose(s.fold(x).array, eqx.filter_jit(lambda s, x: s.fold(x))(s, x).array, atol=1e-6)


def test_scan_default_call_and_extra_arg_rules():
    class Acc(eqx.Module):
        w: NamedArray

        @staticmethod
        def init(w):
            return Acc(w)

        def __call__(self, x, s, p):
            return x + self.w * s + p, p

    w = NamedArray(jnp.arange(L.size * E.size, dtype=jnp.float32).reshape(L.size, E.size), (L, E))
    for cls in (hnn.Stacked, hnn.BlockSeq):
        m = cls.init(L, Acc)(w)
        # float scale shared, plain per-layer array sliced along dim 0
        c, ps = m.scan(hax.zeros(E), 2.0, jnp.arange(4.0))
        np.testing.assert_allclose(c.array, 2 * w.array.sum(0) + 6.0)
        np.testing.assert_allclose(ps, jnp.arange(4.0))
        # per-layer NamedArray scale (has L) is sliced, 0-d array is shared
        c2 = m.fold_via(lambda blk, x, s, p: blk(x, s, p)[0])(hax.zeros(E), hax.arange(L) * 1.0, jnp.array(1.0))
        np.testing.assert_allclose(c2.array, (w.array * jnp.arange(4.0)[:, None]).sum(0) + 4.0)


def test_init_argument_handling():
    per_layer = hax.arange((L, E)) * 1.0
    shared = hax.ones(E)

    class Holder(eqx.Module):
        a: NamedArray
        b: NamedArray
        c: jax.Array
        n: int
        name: str = eqx.field(static=True)

        @staticmethod
        def init(a, b, c, n, name):
            return Holder(a, b, c, n, name)

    for cls in (hnn.Stacked, hnn.BlockSeq):
        m = cls.init(L, Holder)(per_layer, shared, jnp.arange(4.0), 3, "x")
        layers = m.unstacked()
        assert len(layers) == 4
        for i, layer in enumerate(layers):
            assert layer.a.axes == (E,) and layer.a.array.tolist() == (per_layer.array[i]).tolist()
            assert layer.b.axes == (E,)
            assert float(layer.c) == i and layer.n == 3 and layer.name == "x"
    s = hnn.Stacked.init(L, Holder)(per_layer, shared, jnp.arange(4.0), 3, "x")
    assert s.stacked.b.axes == (L, E) and s.stacked.n == 3  # shared NamedArray broadcast; ints stay single
    with pytest.raises(ValueError):
        hnn.Stacked.init(L, Holder)(per_layer, shared, jnp.array(1.0), 3, "x")  # 0-d array cannot be split


def test_vmap_pinned_and_vmap_via():
    class Add(eqx.Module):
        w: NamedArray

        @staticmethod
        def init(w):
            return Add(w)

        def __call__(self, x):
            return x + self.w

    w = NamedArray(jax.random.normal(jax.random.PRNGKey(0), (L.size, E.size)), (L, E))
    x = NamedArray(jnp.arange(E.size, dtype=jnp.float32), (E,))
    for cls in (hnn.Stacked, hnn.BlockSeq):
        m = cls.init(L, Add)(w)
        out = m.vmap(x)
        assert out.axes == (L, E)
        np.testing.assert_allclose(out.array, x.array[None] + w.array, atol=1e-6)
        out2 = m.vmap_via(lambda blk, x, k: (blk.w * k).sum("E") + x.sum("E"))(x, jnp.arange(4.0))
        assert out2.axes == (L,)
        np.testing.assert_allclose(out2.array, (w.array * jnp.arange(4.0)[:, None]).sum(1) + x.array.sum(), atol=1e-5)


def test_unstacked_get_layer_and_protocol():
    s, b = _built(hnn.Stacked), _built(hnn.BlockSeq)
    assert isinstance(s, BlockFoldable) and isinstance(b, BlockFoldable)
    assert s.Layers == L and b.Layers == L
    layers = s.unstacked()
    assert isinstance(layers, tuple) and len(layers) == L.size and b.unstacked() is b.blocks
    for i in range(L.size):
        for u, v, w in zip(
            jax.tree.leaves(layers[i]), jax.tree.leaves(b.get_layer(i)), jax.tree.leaves(s.get_layer(i)), strict=True
        ):
            np.testing.assert_array_equal(u, v)
            np.testing.assert_array_equal(u, w)
    assert layers[0].tag == 7 and layers[0].up.weight.axes == (H, E)
    # traced index
    w2 = jax.jit(lambda s, i: s.get_layer(i).up.weight.array)(s, 2)
    np.testing.assert_array_equal(w2, layers[2].up.weight.array)
    # plain arrays whose leading dim is not Block.size: get_layer keeps them, unstacked refuses
    odd = eqx.tree_at(lambda m: m.stacked.tag, s, jnp.ones(3))
    assert odd.get_layer(1).tag.shape == (3,)
    with pytest.raises(ValueError, match="leading dim 3, but the layer axis is L"):
        odd.unstacked()


def test_unroll_values_and_forwarding(monkeypatch):
    s, b = _built(hnn.Stacked), _built(hnn.BlockSeq)
    x = _x()
    values = (None, 1, 2, 3, True, False)

    @eqx.filter_jit
    def all_unrolls(s, b, x):
        return [
            (s.fold(x, unroll=u), s.scan_via(Block.with_output, unroll=u)(x)[0], b.fold(x, unroll=u)) for u in values
        ]

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        results = all_unrolls(s, b, x)
    for outs in results:
        for o in outs:
            np.testing.assert_allclose(o.array, results[0][0].array, atol=1e-5)
    for bad in (0, -1, 1.5):
        with pytest.raises(ValueError, match="unroll must be"):
            s.fold(x, unroll=bad)
        with pytest.raises(ValueError, match="unroll must be"):
            b.fold(x, unroll=bad)
    import haliax.nn.scan as scan_mod

    seen = []
    real = hax.hof.fold

    def spy(fn, axis, **kw):
        seen.append(kw["unroll"])
        return real(fn, axis, **kw)

    monkeypatch.setattr(scan_mod.haliax, "fold", spy)
    for u in (True, False, None):
        jax.eval_shape(lambda s, x, u=u: s.fold(x, unroll=u), s, x)
    assert seen == [True, False, 1] and type(seen[0]) is bool


class _PairBlock(eqx.Module):
    inner: Block

    def __call__(self, x):
        return self.inner.with_output(x)


@pytest.mark.parametrize("kind", ["scan", "fold"])
def test_patching_haliax_loop_primitive_reaches_stacked(monkeypatch, kind):
    import haliax.hof
    import haliax.nn.scan as scan_mod

    assert scan_mod.haliax is hax  # the top-level package, as in Haliax
    s = _built(hnn.Stacked)
    x = _x()
    real = getattr(haliax.hof, kind)
    calls = []

    def patched(fn, axis, *args, **kw):
        assert args == () and "unroll" in kw  # unroll is passed by keyword
        calls.append(kw["unroll"])
        return real(fn, axis, *args, **kw)

    monkeypatch.setattr(scan_mod.haliax, kind, patched)
    assert getattr(hax, kind) is patched
    if kind == "scan":
        pairs = hnn.Stacked(_PairBlock(s.stacked), s.Block)  # its __call__ returns (carry, output)
        via = lambda u: pairs.scan_via(_PairBlock.__call__, unroll=u)(x)  # noqa: E731
        run = lambda u: pairs.scan(x, unroll=u)  # noqa: E731
    else:
        via = lambda u: s.fold_via(Block.__call__, unroll=u)(x)  # noqa: E731
        run = lambda u: s.fold(x, unroll=u)  # noqa: E731
    for f, u in ((via, True), (via, False), (run, True), (run, False)):
        jax.eval_shape(lambda f=f, u=u: f(u))
    assert calls == [True, False, True, False]
    assert all(type(c) is bool for c in calls)
    calls.clear()
    jax.eval_shape(lambda: run(None))
    assert calls == [1]  # exactly one call per invocation; None becomes 1


def test_errors():
    s, b = _built(hnn.Stacked), _built(hnn.BlockSeq)
    x = _x()
    with pytest.raises(ValueError, match=r"Stacked.scan expects the block to return a pair of \(carry, extra\)"):
        jax.eval_shape(lambda: s.scan(x))  # Block.__call__ returns a single NamedArray
    with pytest.raises(ValueError, match=r"BlockSeq.scan expects the block to return a pair of \(carry, extra\), got"):
        jax.eval_shape(lambda: b.scan(x))
    bad_scale = hax.ones(L.resize(3))
    with pytest.raises(ValueError, match="scan got `length` argument of 4 but some inputs had different leading axis"):
        s.fold(x, bad_scale)
    with pytest.raises(ValueError, match="leading dim 3, but the layer axis is L"):
        b.fold(x, 1.0, key=jax.random.split(jax.random.PRNGKey(0), 3))
    with pytest.raises(
        ValueError,
        match=r"BlockSeq.fold: Found axis with same name but different size: asked for L\(4\), the array has L\(3\)",
    ):
        b.fold(x, bad_scale)
    with pytest.raises(TypeError, match="must be an equinox.Module subclass"):
        hnn.Stacked.init(L, lambda: None)
    with pytest.raises(TypeError, match="must be an equinox.Module subclass"):
        hnn.BlockSeq.init(L, int)

    class NoInit(eqx.Module):
        w: jax.Array

    with pytest.raises(TypeError, match="has no `init` method"):
        hnn.Stacked.init(L, NoInit)
    with pytest.warns(DeprecationWarning, match="prevent_cse"):
        p = hnn.Stacked.init(L, Block, gradient_checkpointing=True, prevent_cse=True)
    del p


def test_jit_filter_grad_and_optax_step():
    s = dataclasses.replace(
        _built(hnn.Stacked), gradient_checkpointing=hnn.ScanCheckpointPolicy.from_bool_or_str("full")
    )
    x = _x()
    opt = optax.sgd(1e-2)
    state = opt.init(eqx.filter(s, eqx.is_array))

    @eqx.filter_jit
    def step(m, state, x):
        loss, g = eqx.filter_value_and_grad(lambda m: hax.sum(m.fold(x) ** 2).array)(m)
        updates, state = opt.update(g, state, m)
        return eqx.apply_updates(m, updates), state, loss

    s2, state, l1 = step(s, state, x)
    _, _, l2 = step(s2, state, x)
    assert float(l2) < float(l1)
    assert s2.gradient_checkpointing == s.gradient_checkpointing and s2.stacked.tag == 7
