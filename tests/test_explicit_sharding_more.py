"""Explicit-axis meshes, the remaining operations: counting, bits, conv, pooling, fft, poly, roll by a NamedArray,
normalization and Embedding, each on inputs whose operated-on axes are sharded (and once sharded on a batch axis
only), eagerly and under `jax.jit`, checked against numpy and against the typed sharding the names give."""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import haliax as hax
import haliax.nn as hnn
from haliax.fft import fft, fftshift, hfft, ifft, ihfft, irfft, rfft
from haliax.ops.bits import packbits, unpackbits
from haliax.ops.counting import bincount, searchsorted, unique
from haliax.partitioning import explicit_out_sharding
from haliax.poly import poly, polyadd, polyder, polydiv, polyfit, polyint, polymul, polyval, vander
from tests.helpers import explicit_mesh_2x4, typed_spec

B, E, T = hax.make_axes(batch=4, embed=8, tok=16)
# the operated-on axes sharded, and the batch axis only
MAPPINGS = {"ops": {"batch": "data", "embed": "model", "tok": "model"}, "batch": {"batch": "data"}}
JIT = [False, True]


@pytest.fixture
def mesh():
    return explicit_mesh_2x4()


_spec = typed_spec


def _names_spec(x):
    spec = tuple(explicit_out_sharding(x.axes))
    return spec + (None,) * (len(x.axes) - len(spec))


def _check(out, ref, tol=1e-5):
    """Same values as the reference, and the typed sharding the output's names give."""
    np.testing.assert_allclose(np.asarray(out.array), np.asarray(ref), rtol=tol, atol=tol)
    assert _spec(out) == _names_spec(out), (out.axes, _spec(out), _names_spec(out))


def _rand(key, axes):
    return hax.random.normal(jax.random.PRNGKey(key), axes)


def _placed(*xs):
    """Place host arrays on the mesh by their names (as `hax.shard` does)."""
    return tuple(hax.shard(x) for x in xs)


def _sharded(x, *names):
    """Check that the axes ``names`` of ``x`` are sharded (the operated-on axes, under the "ops" mappings)."""
    spec = dict(zip(x.axes, _spec(x)))
    for n in names:
        assert spec[x.resolve_axis(n)] is not None, (n, x.axes, _spec(x))


def _run(f, jit, *args):
    return (jax.jit(f) if jit else f)(*args)


# --------------------------------------------------------------------------------------------------
# counting


@pytest.mark.parametrize("jit", JIT)
@pytest.mark.parametrize("which", list(MAPPINGS))
def test_unique_bincount_searchsorted(mesh, jit, which):
    x0 = hax.named(jax.random.randint(jax.random.PRNGKey(0), (4, 8), 0, 5), (B, E))
    ids0 = hax.named(jax.random.randint(jax.random.PRNGKey(1), (16,), 0, 6), (T,))
    U, C = hax.Axis("uniq", 5), hax.Axis("count", 8)
    r = np.asarray(x0.array)
    with jax.set_mesh(mesh), hax.axis_mapping(MAPPINGS[which]):
        x, ids = _placed(x0, ids0)
        if which == "ops":
            _sharded(x, "batch", "embed")
            _sharded(ids, "tok")
        vals, counts = _run(lambda a: unique(a, U, return_counts=True), jit, x)
        want_v, want_c = np.unique(r, return_counts=True)
        _check(vals, want_v)
        _check(counts, want_c)
        rows = _run(lambda a: unique(a, B, axis="batch"), jit, x)
        _check(rows, np.unique(r, axis=0))
        inv = _run(lambda a: unique(a, U, return_inverse=True)[1], jit, x)
        _check(inv, np.unique(r, return_inverse=True)[1].reshape(r.shape))
        _check(_run(lambda a: bincount(a, C), jit, ids), np.bincount(np.asarray(ids0.array), minlength=8))
        w0 = _rand(2, (T,))
        (w,) = _placed(w0)
        want = np.bincount(np.asarray(ids0.array), np.asarray(w0.array), minlength=8)
        _check(_run(lambda a, b: bincount(a, C, weights=b), jit, ids, w), want)
        sorted0 = hax.named(jnp.sort(jax.random.normal(jax.random.PRNGKey(3), (16,))), (T,))
        v0 = _rand(4, (B, E))
        s, v = _placed(sorted0, v0)
        want = np.searchsorted(np.asarray(sorted0.array), np.asarray(v0.array))
        _check(_run(lambda a, b: searchsorted(a, b), jit, s, v), want)
        _check(_run(lambda a, b: searchsorted(a, b, method="compare_all"), jit, s, v), want)
        # unsorted a with a sorter, itself sharded
        perm = np.random.default_rng(0).permutation(16)
        (shuffled,) = _placed(hax.named(sorted0.array[perm], (T,)))
        sorter = hax.argsort(shuffled, "tok")
        _check(_run(lambda a, b, o: searchsorted(a, b, side="right", sorter=o), jit, shuffled, v, sorter), want)
        first = _run(lambda a: unique(a, U, return_index=True)[1], jit, x)
        _check(first, np.unique(r, return_index=True)[1])


# --------------------------------------------------------------------------------------------------
# bits


@pytest.mark.parametrize("jit", JIT)
@pytest.mark.parametrize("which", list(MAPPINGS))
def test_packbits_unpackbits(mesh, jit, which):
    Bits = hax.Axis("embed", 64)
    x0 = hax.named(jax.random.bernoulli(jax.random.PRNGKey(0), 0.5, (4, 64)), (B, Bits))
    r = np.asarray(x0.array)
    with jax.set_mesh(mesh), hax.axis_mapping(MAPPINGS[which]):
        (x,) = _placed(x0)
        if which == "ops":
            _sharded(x, "embed")
        packed = _run(lambda a: packbits(a, "embed"), jit, x)
        _check(packed, np.packbits(r, axis=1))
        back = _run(lambda a: unpackbits(a, "embed"), jit, packed)
        _check(back, r.astype(np.uint8))
        small = _run(lambda a: packbits(a, "embed", bitorder="little"), jit, x["embed", :16])
        _check(small, np.packbits(r[:, :16], axis=1, bitorder="little"))


# --------------------------------------------------------------------------------------------------
# conv and pooling


@pytest.mark.parametrize("jit", JIT)
@pytest.mark.parametrize("which", ["spatial", "channels", "batch"])
def test_conv_and_conv_transpose(mesh, jit, which):
    H, W, Cin, Cout = hax.make_axes(h=8, w=8, embed=4, out=8)
    conv0 = hnn.Conv.init(("h", "w"), Cin, Cout, kernel_size=3, padding=1, key=jax.random.PRNGKey(0))
    convt0 = hnn.ConvTranspose.init(("h", "w"), Cin, Cout, kernel_size=3, stride=2, key=jax.random.PRNGKey(1))
    x0 = _rand(2, (B, H, W, Cin))
    mapping = {
        "spatial": {"batch": "data", "h": "model"},
        "channels": {"batch": "data", "embed": "model", "out": "model"},
        "batch": MAPPINGS["batch"],
    }[which]
    ref = conv0(x0)
    ref_t = convt0(x0)
    with jax.set_mesh(mesh), hax.axis_mapping(mapping):
        # the kernel's axes are named like the spatial ones, and h(3) cannot be split 4 ways: place by batch only
        params = MAPPINGS["batch"] if which == "spatial" else mapping
        conv, convt = hax.shard(conv0, params), hax.shard(convt0, params)
        (x,) = _placed(x0)
        if which == "spatial":
            _sharded(x, "h")
        if which == "channels":
            _sharded(x, "embed")
            _sharded(conv.weight, "out")
        call = (lambda m, a: m(a)) if not jit else eqx.filter_jit(lambda m, a: m(a))
        _check(call(conv, x), ref.rearrange(call(conv, x).axes).array, 1e-4)
        out_t = call(convt, x)
        _check(out_t, ref_t.rearrange(out_t.axes).array, 1e-4)


@pytest.mark.parametrize("jit", JIT)
@pytest.mark.parametrize("which", list(MAPPINGS))
def test_pooling_along_sharded_axis(mesh, jit, which):
    x0 = _rand(0, (B, T, E))
    r = np.asarray(x0.array)
    Win = hax.Axis("tok", 2)
    with jax.set_mesh(mesh), hax.axis_mapping(MAPPINGS[which]):
        (x,) = _placed(x0)
        if which == "ops":
            _sharded(x, "tok")
        _check(_run(lambda a: hnn.max_pool(Win, a, stride=2), jit, x), r.reshape(4, 8, 2, 8).max(2))
        _check(_run(lambda a: hnn.min_pool(Win, a, stride=2), jit, x), r.reshape(4, 8, 2, 8).min(2))
        _check(_run(lambda a: hnn.mean_pool(Win, a, stride=2), jit, x), r.reshape(4, 8, 2, 8).mean(2))
        Out = hax.Axis("tok", 4)
        _check(_run(lambda a: hnn.adaptive_mean_pool(Out, a), jit, x), r.reshape(4, 4, 4, 8).mean(2))
        _check(_run(lambda a: hnn.adaptive_max_pool(Out, a), jit, x), r.reshape(4, 4, 4, 8).max(2))
        # outputs whose size the mesh axis does not divide: 16 -> 6 (window 3, SAME), 16 -> 5 (adaptive)
        Win3 = hax.Axis("tok", 3)
        padded = np.pad(r, ((0, 0), (1, 1), (0, 0)), constant_values=-np.inf)
        want = np.stack([padded[:, 3 * k : 3 * k + 3].max(1) for k in range(6)], 1)
        _check(_run(lambda a: hnn.max_pool(Win3, a, stride=3, padding="SAME"), jit, x), want)
        five = _run(lambda a: hnn.adaptive_mean_pool(hax.Axis("tok", 5), a), jit, x)
        assert five.axes[1].size == 5 and _spec(five) == _names_spec(five)
        # pooling over two sharded axes at once
        both = _run(lambda a: hnn.mean_pool((hax.Axis("tok", 2), hax.Axis("embed", 2)), a, stride=2), jit, x)
        _check(both, r.reshape(4, 8, 2, 4, 2).mean((2, 4)))


# --------------------------------------------------------------------------------------------------
# fft and poly


@pytest.mark.parametrize("jit", JIT)
@pytest.mark.parametrize("which", list(MAPPINGS))
def test_fft_along_sharded_axes(mesh, jit, which):
    x0 = _rand(0, (B, E, T))
    r = np.asarray(x0.array)
    with jax.set_mesh(mesh), hax.axis_mapping(MAPPINGS[which]):
        (x,) = _placed(x0)
        if which == "ops":
            _sharded(x, "embed")
        _check(_run(lambda a: fft(a, "embed"), jit, x), np.fft.fft(r, axis=1), 1e-4)
        _check(_run(lambda a: fft(a, ("embed", "tok")), jit, x), np.fft.fftn(r, axes=(1, 2)), 1e-4)
        _check(_run(lambda a: ifft(fft(a, "tok"), "tok").real, jit, x), r, 1e-4)
        spec = _run(lambda a: rfft(a, "tok"), jit, x)
        _check(spec, np.fft.rfft(r, axis=2), 1e-4)  # tok: 16 -> 9, which the mesh does not divide
        _check(_run(lambda a: irfft(a, hax.Axis("tok", 16)), jit, spec), r, 1e-4)
        _check(_run(lambda a: fftshift(a, "embed"), jit, x), np.fft.fftshift(r, axes=1))
        (y,) = _placed(x0["embed", 0])  # tok, now the only axis model shards
        if which == "ops":
            _sharded(y, "tok")
        ry = r[:, 0]
        spec = _run(lambda a: rfft(a, "tok"), jit, y)
        _check(spec, np.fft.rfft(ry, axis=1), 1e-4)
        _check(_run(lambda a: irfft(a, hax.Axis("tok", 16)), jit, spec), ry, 1e-4)
        _check(_run(lambda a: ifft(fft(a, "tok"), "tok").real, jit, y), ry, 1e-4)
        half = _run(lambda a: ihfft(a, "tok"), jit, y)
        _check(half, np.fft.ihfft(ry, axis=1), 1e-4)
        _check(_run(lambda a: hfft(a, {"tok": hax.Axis("tok", 16)}), jit, half), ry, 1e-4)


@pytest.mark.parametrize("jit", JIT)
@pytest.mark.parametrize("which", list(MAPPINGS))
def test_poly_on_sharded_arrays(mesh, jit, which):
    Coef = hax.Axis("embed", 8)
    p0 = _rand(0, (Coef,))
    x0 = _rand(1, (B, T))
    rp, rx = np.asarray(p0.array), np.asarray(x0.array)
    with jax.set_mesh(mesh), hax.axis_mapping(MAPPINGS[which]):
        p, x = _placed(p0, x0)
        if which == "ops":
            _sharded(p, "embed")
            _sharded(x, "tok")
        _check(_run(lambda c, a: polyval(c, a), jit, p, x), np.polyval(rp, rx), 1e-4)
        _check(_run(lambda c: polymul(c, c), jit, p), np.polymul(rp, rp), 1e-4)
        _check(_run(lambda c: polyadd(c, c["embed", :4]), jit, p), np.polyadd(rp, rp[:4]), 1e-4)
        q, r = _run(lambda c: polydiv(c, c["embed", :3]), jit, p)
        want_q, want_r = np.polydiv(rp, rp[:3])
        _check(q, want_q, 1e-3)
        _check(r["embed", -len(want_r) :], want_r, 1e-3)
        _check(_run(lambda c: polyint(c), jit, p), np.polyint(rp), 1e-4)
        _check(_run(lambda c: polyder(c), jit, p), np.polyder(rp), 1e-4)
        _check(_run(lambda c: poly(c), jit, p), np.poly(rp), 1e-3)
        xs0 = hax.named(jnp.linspace(-1.0, 1.0, 16), (T,))
        ys0 = hax.named(jnp.stack([np.polyval([1.0, 2.0, 3.0], np.linspace(-1.0, 1.0, 16))] * 4, 1), (T, B))
        xs, ys = _placed(xs0, ys0)
        fit = _run(lambda a, b: polyfit(a, b, 2), jit, xs, ys)
        _check(fit, np.tile(np.array([[1.0], [2.0], [3.0]]), (1, 4)), 1e-3)
        _check(_run(lambda a: vander(a, hax.Axis("deg", 4)), jit, x["batch", 0]), np.vander(rx[0], 4), 1e-4)


# --------------------------------------------------------------------------------------------------
# roll by a NamedArray shift


@pytest.mark.parametrize("jit", JIT)
@pytest.mark.parametrize("which", list(MAPPINGS))
def test_roll_by_named_shift(mesh, jit, which):
    x0 = _rand(0, (B, E))
    r = np.asarray(x0.array)
    shifts0 = hax.named(jnp.array([0, 1, 3, 7]), (B,))
    with jax.set_mesh(mesh), hax.axis_mapping(MAPPINGS[which]):
        x, s = _placed(x0, shifts0)
        if which == "ops":
            _sharded(x, "embed")
        want = np.stack([np.roll(r[k], int(shifts0.array[k])) for k in range(4)])
        _check(_run(lambda a, b: hax.roll(a, b, "embed"), jit, x, s), want)
        _check(_run(lambda a, b: hax.roll(a, b["batch", 2], "embed"), jit, x, s), np.roll(r, 3, 1))


# --------------------------------------------------------------------------------------------------
# normalization and Embedding


@pytest.mark.parametrize("jit", JIT)
@pytest.mark.parametrize("which", list(MAPPINGS))
def test_layer_norm_and_rms_norm_over_sharded_axis(mesh, jit, which):
    x0 = _rand(0, (B, T, E))
    ln0 = hnn.LayerNorm.init(E)
    ln0 = eqx.tree_at(lambda m: m.weight, ln0, _rand(1, (E,)))
    rms0 = hnn.RmsNorm.init(E, use_bias=False)
    r = np.asarray(x0.array, dtype=np.float64)
    mu, var = r.mean(-1, keepdims=True), r.var(-1, keepdims=True)
    want_ln = (r - mu) / np.sqrt(var + 1e-5) * np.asarray(ln0.weight.array)
    want_rms = r / np.sqrt((r**2).mean(-1, keepdims=True) + 1e-5)
    mapping = {"batch": "data", "embed": "model"} if which == "ops" else MAPPINGS[which]
    with jax.set_mesh(mesh), hax.axis_mapping(mapping):
        ln, rms = hax.shard(ln0), hax.shard(rms0)
        (x,) = _placed(x0)
        if which == "ops":
            _sharded(x, "embed")
            _sharded(ln.weight, "embed")
        call = (lambda m, a: m(a)) if not jit else eqx.filter_jit(lambda m, a: m(a))
        _check(call(ln, x), want_ln, 1e-4)
        _check(call(rms, x), want_rms, 1e-4)
        # normalising over two axes, one of them sharded
        ln2 = hax.shard(hnn.LayerNorm.init((T, E)))
        mu2, var2 = r.mean((1, 2), keepdims=True), r.var((1, 2), keepdims=True)
        _check(call(ln2, x), (r - mu2) / np.sqrt(var2 + 1e-5), 1e-4)


@pytest.mark.parametrize("jit", JIT)
def test_where_cumsum_sort_top_k_with_a_batch_only_mapping(mesh, jit):
    """Also covered with the operated-on axis sharded in tests/test_explicit_sharding.py."""
    x0 = _rand(0, (B, E))
    r = np.asarray(x0.array)
    with jax.set_mesh(mesh), hax.axis_mapping(MAPPINGS["batch"]):
        (x,) = _placed(x0)
        assert _spec(x) == ("data", None)
        _check(_run(lambda a: hax.where(a > 0, a, -a), jit, x), np.abs(r))
        _check(_run(lambda a: hax.where(a["embed", 0] > 0, a, 0.0), jit, x), np.where(r[:, :1] > 0, r, 0.0))
        _check(_run(lambda a: hax.cumsum(a, "batch"), jit, x), np.cumsum(r, 0), 1e-4)
        _check(_run(lambda a: hax.sort(a, "batch"), jit, x), np.sort(r, 0))
        vals, idx = _run(lambda a: hax.top_k(a, "batch", 2), jit, x)
        _check(vals, -np.sort(-r, 0)[:2])
        _check(idx, np.argsort(-r, 0, kind="stable")[:2])


@pytest.mark.parametrize("jit", JIT)
@pytest.mark.parametrize("which", ["ops", "vocab", "batch"])
def test_embedding_with_sharded_ids_and_vocab(mesh, jit, which):
    Vocab, Embed = hax.Axis("vocab", 16), hax.Axis("embed", 8)
    emb0 = hnn.Embedding.init(Vocab, Embed, key=jax.random.PRNGKey(0))
    ids0 = hax.named(jax.random.randint(jax.random.PRNGKey(1), (4, 16), 0, 16), (B, T))
    mapping = {
        "ops": {"batch": "data", "tok": "model", "vocab": "model"},
        "vocab": {"batch": "data", "vocab": "model", "embed": "data"},
        "batch": {"batch": "data"},
    }[which]
    want = np.asarray(emb0.weight.rearrange((Vocab, Embed)).array)[np.asarray(ids0.array)]
    with jax.set_mesh(mesh), hax.axis_mapping(mapping):
        emb = hax.shard(emb0)
        (ids,) = _placed(ids0)
        if which != "batch":
            _sharded(emb.weight, "vocab")
        if which == "ops":
            _sharded(ids, "batch", "tok")
        call = (lambda m, a: m(a)) if not jit else eqx.filter_jit(lambda m, a: m(a))
        out = call(emb, ids)
        _check(out, want)
        x = _rand(2, (B, T, Embed))
        unembed = (lambda m, a: m.unembed(a)) if not jit else eqx.filter_jit(lambda m, a: m.unembed(a))
        logits = unembed(emb, hax.shard(x))
        w = np.asarray(emb0.weight.rearrange((Vocab, Embed)).array)
        _check(logits, np.einsum("bte,ve->btv", np.asarray(x.array), w), 1e-4)


# --------------------------------------------------------------------------------------------------
# gradients: a small model of these layers trains on the explicit mesh


class _Tiny(eqx.Module):
    emb: hnn.Embedding
    norm: hnn.LayerNorm
    conv: hnn.Conv
    rms: hnn.RmsNorm

    def __call__(self, ids):
        h = self.norm(self.emb(ids))
        h = self.conv(h)  # along tok, embed -> out
        h = self.rms(hnn.mean_pool(hax.Axis("tok", 2), h, stride=2))
        return hax.roll(h, ids["tok", 0], "tok")


@pytest.mark.parametrize("which", ["ops", "batch"])
def test_gradients_through_embedding_norm_conv_pool(mesh, which):
    Vocab, Out = hax.Axis("vocab", 16), hax.Axis("out", 8)
    k = jax.random.split(jax.random.PRNGKey(0), 3)
    model0 = _Tiny(
        hnn.Embedding.init(Vocab, E, key=k[0]),
        hnn.LayerNorm.init(E),
        hnn.Conv.init("tok", E, Out, kernel_size=3, padding=0, key=k[1]),  # tok 16 -> 14: not divisible by 4
        hnn.RmsNorm.init(Out),
    )
    ids0 = hax.named(jax.random.randint(k[2], (4, 16), 0, 16), (B, T))

    def loss(m, ids):
        return (m(ids) ** 2).mean().scalar()

    grad_fn = eqx.filter_jit(eqx.filter_value_and_grad(loss))
    ref_loss, ref_grads = grad_fn(model0, ids0)
    mapping = (
        {"batch": "data", "tok": "model", "vocab": "model", "embed": "model"} if which == "ops" else {"batch": "data"}
    )
    with jax.set_mesh(mesh), hax.axis_mapping(mapping):
        model, ids = hax.shard(model0), hax.shard(ids0)
        if which == "ops":
            _sharded(model.emb.weight, "vocab")
            _sharded(ids, "tok")
        value, grads = grad_fn(model, ids)
        np.testing.assert_allclose(float(value), float(ref_loss), rtol=1e-5)
        got = jax.tree.leaves(grads, is_leaf=lambda x: isinstance(x, hax.NamedArray))
        want = jax.tree.leaves(ref_grads, is_leaf=lambda x: isinstance(x, hax.NamedArray))
        for g, w in zip(got, want, strict=True):
            np.testing.assert_allclose(np.asarray(g.array), np.asarray(w.array), rtol=1e-4, atol=1e-6)
            assert _spec(g) == _names_spec(g), (g.axes, _spec(g))


@pytest.mark.parametrize("jit", JIT)
def test_frequencies_roots_and_other_shortcuts_are_typed(mesh, jit):
    from haliax.fft import fftfreq, ifftshift, rfftfreq
    from haliax.ops.counting import unique_all, unique_counts
    from haliax.poly import roots, trim_zeros

    Coef = hax.Axis("embed", 8)
    p0 = _rand(0, (Coef,))
    x0 = hax.named(jax.random.randint(jax.random.PRNGKey(1), (16,), 0, 5), (T,))
    with jax.set_mesh(mesh), hax.axis_mapping(MAPPINGS["ops"]):
        p, x = _placed(p0, x0)
        _sharded(p, "embed")
        _sharded(x, "tok")
        _check(_run(lambda: fftfreq(T), jit), np.fft.fftfreq(16))
        _check(_run(lambda: rfftfreq(T), jit), np.fft.rfftfreq(16))
        _check(_run(lambda a: ifftshift(a, "tok"), jit, x), np.fft.ifftshift(np.asarray(x0.array)))
        found = _run(lambda c: roots(c, strip_zeros=False), jit, p)
        want = np.roots(np.asarray(p0.array))
        np.testing.assert_allclose(np.sort_complex(np.asarray(found.array)), np.sort_complex(want), rtol=1e-3)
        assert _spec(found) == _names_spec(found)
        U = hax.Axis("uniq", 5)
        values, counts = _run(lambda a: unique_counts(a, U), jit, x)
        want_v, want_c = np.unique(np.asarray(x0.array), return_counts=True)
        _check(values, want_v)
        _check(counts, want_c)
        values, _, inverse, _ = _run(lambda a: unique_all(a, U), jit, x)
        _check(values, want_v)
        _check(inverse, np.unique(np.asarray(x0.array), return_inverse=True)[1])
        packed = _run(lambda a: packbits(a, "tok"), jit, x > 2)
        _check(_run(lambda a: unpackbits(a, "tok", count=12), jit, packed), (np.asarray(x0.array) > 2)[:12])
        if not jit:  # value-dependent sizes
            zp = hax.shard(hax.named(jnp.array([0.0, 0.0, 1.0, 2.0, 0.0, 3.0, 0.0, 0.0]), (Coef,)))
            _check(trim_zeros(zp), np.array([1.0, 2.0, 0.0, 3.0]))
