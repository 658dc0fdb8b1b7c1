"""Explicit-axis meshes: names give every output its typed sharding, and the GPT example trains on a 2x4 mesh."""

import importlib.util
from pathlib import Path

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from jax.sharding import AxisType, PartitionSpec as P

import haliax as hax
import haliax.nn as hnn
from haliax.partitioning import PartitioningError, explicit_out_sharding, pspec_for_axis
from tests.helpers import explicit_mesh_2x4, typed_spec

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"

B, E, M, H, D = hax.make_axes(batch=4, embed=8, mlp=16, heads=4, head_size=2)
MAPPING = {"batch": "data", "embed": "model", "mlp": "model", "heads": "model"}


@pytest.fixture
def mesh():
    return explicit_mesh_2x4()


_spec = typed_spec


def _names_spec(x, mapping=None):
    """The spec the names give: `pspec_for_axis` under ``mapping``, else what ops give under the active mapping
    (`explicit_out_sharding`: a size the mesh axes do not divide is replicated)."""
    spec = tuple(pspec_for_axis(x.axes, mapping) if mapping is not None else explicit_out_sharding(x.axes))
    return spec + (None,) * (len(x.axes) - len(spec))


def _rand(key, axes):
    return hax.random.normal(jax.random.PRNGKey(key), axes)


def _on_mesh(mesh, *xs):
    """Place host arrays on the mesh by their names (as `hax.shard` does)."""
    out = tuple(hax.shard(x) for x in xs)
    for x in out:
        assert _spec(x) == _names_spec(x), (x.axes, _spec(x))
    return out


# --------------------------------------------------------------------------------------------------
# the mechanism


def test_explicit_out_sharding_is_none_off_explicit_meshes():
    assert explicit_out_sharding((B, E)) is None  # no mesh, no mapping
    auto = jax.make_mesh((2, 4), ("data", "model"), axis_types=(AxisType.Auto,) * 2)
    with jax.set_mesh(auto), hax.axis_mapping(MAPPING):
        assert explicit_out_sharding((B, E)) is None
    mixed = jax.make_mesh((2, 4), ("data", "model"), axis_types=(AxisType.Explicit, AxisType.Auto))
    with jax.set_mesh(mixed), hax.axis_mapping(MAPPING):
        assert explicit_out_sharding((B, E)) is None


def test_explicit_out_sharding_spec(mesh):
    with jax.set_mesh(mesh):
        assert explicit_out_sharding((B, E)) is None  # no mapping
        with hax.axis_mapping(MAPPING):
            assert explicit_out_sharding((B, E)) == P("data", "model")
            assert explicit_out_sharding((B, E)) is explicit_out_sharding((B, E))  # cached
            # mlp and embed both map to model: the first (array order) wins, as in pspec_for_axis
            assert explicit_out_sharding((M, E)) == P("model", None)
            # a size the mesh axis does not divide (a slice, say) is replicated
            assert explicit_out_sharding((B, E.resize(3))) == P("data", None)
            assert explicit_out_sharding(("batch", "embed")) == P("data", "model")


def test_explicit_out_sharding_under_jit(mesh):
    seen = []

    @jax.jit
    def f(x):
        seen.append(explicit_out_sharding((B, E)))
        return x

    with jax.set_mesh(mesh), hax.axis_mapping(MAPPING):
        f(jnp.zeros(3))
    assert seen == [P("data", "model")]


# --------------------------------------------------------------------------------------------------
# each op of item 1, on inputs whose contracted or merged axes are sharded


def _check(out, ref):
    """Same values as the plain-jnp reference, and the typed sharding the names give."""
    np.testing.assert_allclose(np.asarray(out.array), np.asarray(ref), rtol=1e-5, atol=1e-5)
    assert _spec(out) == _names_spec(out), (out.axes, _spec(out), _names_spec(out))


@pytest.mark.parametrize("jit", [False, True])
def test_dot_over_sharded_axis(mesh, jit):
    x0, w0 = _rand(0, (B, E)), _rand(1, (E, M.resize(8)))
    with jax.set_mesh(mesh), hax.axis_mapping({"batch": "data", "embed": "model"}):
        x, w = _on_mesh(mesh, x0, w0)
        assert _spec(x)[1] == _spec(w)[0] == "model"  # the contracted axis is sharded on both sides
        f = (lambda a, b: hax.dot(a, b, axis="embed")) if not jit else jax.jit(lambda a, b: hax.dot(a, b, axis="embed"))
        out = f(x, w)
        assert [a.name for a in out.axes] == ["batch", "mlp"]
        np.testing.assert_allclose(np.asarray(out.array), np.asarray(x0.array @ w0.array), rtol=1e-5, atol=1e-5)
        assert _spec(out) == ("data", None)


def test_einsum_over_sharded_axis(mesh):
    x0, w0 = _rand(0, (B, E)), _rand(1, (M, E))
    with jax.set_mesh(mesh), hax.axis_mapping({"batch": "data", "embed": "model", "mlp": "model"}):
        x, w = _on_mesh(mesh, x0, w0.rearrange(("embed", "mlp")))
        out = hax.einsum("b e, e m -> m b", x, w)
        _check(out, jnp.einsum("be,me->mb", x0.array, w0.array))
        assert _spec(out) == ("model", "data")


def test_linear_over_sharded_input(mesh):
    lin0 = hnn.Linear.init(E, M, key=jax.random.PRNGKey(3))
    x0 = _rand(0, (B, E))
    with jax.set_mesh(mesh), hax.axis_mapping({"batch": "data", "embed": "model"}):
        lin = hax.shard(lin0)
        (x,) = _on_mesh(mesh, x0)
        out = lin(x)
        ref = x0.array @ lin0.weight.rearrange(("embed", "mlp")).array + lin0.bias.array[None, :]
        _check(out, ref)
        out_jit = eqx.filter_jit(lambda m, a: m(a))(lin, x)
        _check(out_jit, ref)


@pytest.mark.parametrize("jit", [False, True])
def test_flatten_and_unflatten_sharded_axes(mesh, jit):
    x0 = _rand(0, (B, E, M))
    wrap = jax.jit if jit else (lambda f: f)
    with jax.set_mesh(mesh), hax.axis_mapping({"batch": "data", "mlp": "model", "tok": "data"}):
        (x,) = _on_mesh(mesh, x0)
        flat = wrap(lambda a: hax.flatten_axes(a, ("batch", "embed"), "tok"))(x)
        _check(flat, x0.array.reshape(32, 16))
        assert _spec(flat) == ("data", "model")
        back = wrap(lambda a: hax.unflatten_axis(a, "tok", (B, E)))(flat)
        _check(back, x0.array)
        # merging an axis sharded over the mesh axis that a later axis also uses
        merged = wrap(lambda a: hax.flatten_axes(a, ("embed", "mlp"), "em"))(x)
        _check(merged, x0.array.reshape(4, 128))


@pytest.mark.parametrize("jit", [False, True])
def test_rearrange_splits_and_merges_sharded_axes(mesh, jit):
    x0 = _rand(0, (B, H.resize(8), M))
    wrap = jax.jit if jit else (lambda f: f)
    with jax.set_mesh(mesh), hax.axis_mapping({"batch": "data", "heads": "model", "hm": "data", "k": "model"}):
        (x,) = _on_mesh(mesh, x0)
        ref = np.asarray(x0.array)
        _check(wrap(lambda a: hax.rearrange(a, "b h m -> m b h"))(x), ref.transpose(2, 0, 1))
        out = wrap(lambda a: hax.rearrange(a, "b h m -> (hm: h m) b"))(x)
        _check(out, ref.transpose(1, 2, 0).reshape(128, 4))
        assert _spec(out) == ("data", None)  # batch also maps to data: the first axis wins
        out = wrap(lambda a: hax.rearrange(a, "b (k r) m -> b r k m", k=4))(x)
        _check(out, ref.reshape(4, 4, 2, 16).transpose(0, 2, 1, 3))
        assert _spec(out) == ("data", None, "model", None)


def test_concatenate_along_sharded_axis(mesh):
    a0, b0 = _rand(0, (B, E)), _rand(1, (B, E))
    with jax.set_mesh(mesh), hax.axis_mapping({"batch": "data", "embed": "model"}):
        a, b = _on_mesh(mesh, a0, b0)
        out = hax.concatenate("embed", [a, b])
        _check(out, jnp.concatenate([a0.array, b0.array], axis=1))
        out_b = jax.jit(lambda a, b: hax.concatenate("batch", [a, b]))(a, b)
        _check(out_b, jnp.concatenate([a0.array, b0.array], axis=0))


def test_take_and_index_along_sharded_axis(mesh):
    x0 = _rand(0, (B, E))
    idx = hax.named(jnp.array([0, 5, 7]), "pick")
    with jax.set_mesh(mesh), hax.axis_mapping({"batch": "data", "embed": "model"}):
        (x,) = _on_mesh(mesh, x0)
        _check(hax.take(x, "embed", idx), x0.array[:, np.array([0, 5, 7])])
        _check(x["embed", 3], x0.array[:, 3])
        _check(x["embed", 1:4], x0.array[:, 1:4])  # size 3 on a 4-way axis: replicated
        _check(x["embed", 4:], x0.array[:, 4:])
        _check(x["batch", 1], x0.array[1])
        _check(jax.jit(lambda a: a["embed", 3])(x), x0.array[:, 3])
        ids = hax.named(jnp.array([[1, 2], [3, 0], [0, 0], [7, 6]]), (B, hax.Axis("pick", 2)))
        _check(jax.jit(lambda a, i: hax.take(a, "embed", i))(x, ids), jnp.take_along_axis(x0.array, ids.array, 1).T)


def test_reductions_over_sharded_axes(mesh):
    x0 = _rand(0, (B, E))
    with jax.set_mesh(mesh), hax.axis_mapping({"batch": "data", "embed": "model"}):
        (x,) = _on_mesh(mesh, x0)
        _check(hax.sum(x, "embed"), x0.array.sum(1))
        _check(hax.mean(x, "batch"), x0.array.mean(0))
        _check(hax.max(x), x0.array.max())
        _check(hax.argmax(x, "embed"), x0.array.argmax(1))
        _check(jax.jit(lambda a: hnn.logsumexp(a, "embed"))(x), jax.nn.logsumexp(x0.array, 1))


@pytest.mark.parametrize("jit", [False, True])
def test_scans_sorts_and_top_k_along_sharded_axis(mesh, jit):
    x0 = _rand(0, (B, E))
    wrap = jax.jit if jit else (lambda f: f)
    with jax.set_mesh(mesh), hax.axis_mapping({"batch": "data", "embed": "model"}):
        (x,) = _on_mesh(mesh, x0)
        ref = np.asarray(x0.array)
        _check(wrap(lambda a: hax.cumsum(a, "embed"))(x), np.cumsum(ref, 1))
        _check(wrap(lambda a: hax.sort(a, "embed"))(x), np.sort(ref, 1))
        _check(wrap(lambda a: hax.argsort(a, "embed"))(x), np.argsort(ref, 1))
        vals, idx = wrap(lambda a: hax.top_k(a, "embed", 4))(x)
        _check(vals, -np.sort(-ref, 1)[:, :4])
        _check(idx, np.argsort(-ref, 1)[:, :4])


@pytest.mark.parametrize("jit", [False, True])
def test_roll_pad_unbind_trace_along_sharded_axis(mesh, jit):
    x0 = _rand(0, (B, E))
    wrap = jax.jit if jit else (lambda f: f)
    with jax.set_mesh(mesh), hax.axis_mapping({"batch": "data", "embed": "model"}):
        (x,) = _on_mesh(mesh, x0)
        ref = np.asarray(x0.array)
        _check(wrap(lambda a: hax.roll(a, 3, "embed"))(x), np.roll(ref, 3, 1))
        _check(wrap(lambda a: hax.pad(a, {"embed": (1, 3)}))(x), np.pad(ref, ((0, 0), (1, 3))))
        _check(wrap(lambda a: hax.pad(a, {"embed": (1, 1)}))(x), np.pad(ref, ((0, 0), (1, 1))))  # 10: replicated
        _check(wrap(lambda a: hax.unbind(a, "embed")[5])(x), ref[:, 5])
        sq = hax.shard(hax.named(jnp.asarray(ref[:, :4]), (B, hax.Axis("embed", 4))))
        _check(wrap(lambda a: hax.trace(a, "batch", "embed"))(sq), np.trace(ref[:, :4]))


@pytest.mark.parametrize("jit", [False, True])
def test_updates_into_sharded_axis(mesh, jit):
    x0 = _rand(0, (B, E))
    upd0 = _rand(1, (B, hax.Axis("embed", 2)))
    wrap = jax.jit if jit else (lambda f: f)
    with jax.set_mesh(mesh), hax.axis_mapping({"batch": "data", "embed": "model"}):
        (x,) = _on_mesh(mesh, x0)
        upd = hax.shard(upd0, {"batch": "data"})  # embed(2) cannot be split 4 ways
        ref = np.asarray(x0.array)
        want = ref.copy()
        want[:, 3] = 0.0
        _check(wrap(lambda a: a.at["embed", 3].set(0.0))(x), want)
        want = ref.copy()
        want[:, 2:4] = np.asarray(upd0.array)
        _check(wrap(lambda a, u: hax.updated_slice(a, {"embed": 2}, u))(x, upd), want)
        want = ref.copy()
        want[:, [1, 6]] += 1.0
        idx = hax.named(jnp.array([1, 6]), "pick")
        _check(wrap(lambda a, i: a.at["embed", i].add(1.0))(x, idx), want)


def test_broadcasting_operands_that_compete_for_a_mesh_axis(mesh):
    """x(embed, mlp) is typed (model, None) by the names (the first axis wins), y(mlp) is typed (model,): the
    product has x's axes, and both operands are resharded to its typed sharding (JAX alone rejects it)."""
    x0, y0 = _rand(0, (E, M)), _rand(1, (M,))
    with jax.set_mesh(mesh), hax.axis_mapping({"embed": "model", "mlp": "model"}):
        x, y = _on_mesh(mesh, x0, y0)
        assert _spec(x) == ("model", None) and _spec(y) == ("model",)
        _check(x * y, np.asarray(x0.array) * np.asarray(y0.array)[None, :])
        _check(jax.jit(lambda a, b: b - a)(x, y), np.asarray(y0.array)[None, :] - np.asarray(x0.array))


def test_created_axes_the_mesh_does_not_divide_are_replicated(mesh):
    """Op outputs (here creation, through auto_sharded) replicate an axis its mesh axis does not divide;
    an explicit `hax.shard` of such an array raises instead (see the error tests)."""
    Odd = hax.Axis("embed", 6)
    with jax.set_mesh(mesh), hax.axis_mapping({"batch": "data", "embed": "model"}):
        for out in (hax.zeros((B, Odd)), hax.random.normal(jax.random.PRNGKey(0), (B, Odd))):
            assert _spec(out) == ("data", None)


def test_creation_and_random_are_typed(mesh):
    with jax.set_mesh(mesh), hax.axis_mapping(MAPPING):
        for out in (
            hax.zeros((B, E)),
            hax.ones((E, B)),
            hax.full((B, M), 2.0),
            hax.random.normal(jax.random.PRNGKey(0), (B, E)),
            hax.random.uniform(jax.random.PRNGKey(0), (B, M)),
            jax.jit(lambda: hax.zeros((B, E)))(),
        ):
            assert _spec(out) == _names_spec(out), (out.axes, _spec(out))


@pytest.mark.parametrize("name", ["uniform", "normal", "bernoulli", "randint", "truncated_normal", "gumbel"])
def test_random_samples_straight_into_the_typed_sharding(mesh, name):
    """Samplers pass ``out_sharding=``: same numbers as on one device, typed by the names."""
    f = getattr(hax.random, name)
    extra = {"bernoulli": (0.3,), "randint": (0, 10), "truncated_normal": (-1.0, 1.0)}.get(name, ())
    key = jax.random.PRNGKey(3)
    ref = f(key, (B, E), *extra)
    with jax.set_mesh(mesh), hax.axis_mapping({"batch": "data", "embed": "model"}):
        for out in (f(key, (B, E), *extra), jax.jit(lambda: f(key, (B, E), *extra))()):
            # the same random bits; float samplers go through another program, so a tolerance (ints stay exact)
            np.testing.assert_allclose(np.asarray(out.array), np.asarray(ref.array), rtol=1e-6, atol=1e-6)
            assert _spec(out) == ("data", "model")


def test_shard_reshards_under_jit(mesh):
    x0 = _rand(0, (B, E))
    with jax.set_mesh(mesh):
        with hax.axis_mapping({"batch": "data"}):
            (x,) = _on_mesh(mesh, x0)
        with hax.axis_mapping({"embed": "model"}):
            y = jax.jit(hax.shard)(x)
            assert _spec(y) == (None, "model")
            np.testing.assert_array_equal(np.asarray(y.array), np.asarray(x0.array))


def test_attention_dense_and_blockwise(mesh):
    Pos, KPos = hax.Axis("position", 8), hax.Axis("key_position", 8)
    q0 = _rand(0, (B, H, Pos, D))
    k0 = _rand(1, (B, H, KPos, D))
    v0 = _rand(2, (B, H, KPos, D))
    mask = hnn.attention.AttentionMask.causal()
    ref = hnn.attention.dot_product_attention(KPos, D, q0, k0, v0, mask, QPos=Pos, implementation="dense")
    with jax.set_mesh(mesh), hax.axis_mapping(MAPPING):
        q, k, v = _on_mesh(mesh, q0, k0, v0)
        for impl in ("dense", "blockwise"):
            out = jax.jit(
                lambda q, k, v, impl=impl: hnn.attention.dot_product_attention(
                    KPos, D, q, k, v, mask, QPos=Pos, implementation=impl, block_size=4
                )
            )(q, k, v)
            _check(out, ref.rearrange(out.axes).array)
        w = hnn.attention.dot_product_attention_weights(D, KPos, q, k, mask, QPos=Pos)
        assert _spec(w) == _names_spec(w)

        def loss(q, k, v):
            return hnn.attention.dot_product_attention(KPos, D, q, k, v, mask, QPos=Pos).sum().scalar()

        grads = jax.jit(jax.grad(loss, argnums=(0, 1, 2)))(q, k, v)
        ref_grads = jax.grad(loss, argnums=(0, 1, 2))(q0, k0, v0)
        for g, r in zip(grads, ref_grads, strict=True):
            np.testing.assert_allclose(np.asarray(g.array), np.asarray(r.array), rtol=1e-4, atol=1e-5)


def test_fused_cross_entropy_with_sharded_vocab_and_embed(mesh):
    Pos, V = hax.Axis("position", 8), hax.Axis("vocab", 32)
    x0, w0 = _rand(0, (B, Pos, E)), _rand(1, (V, E))
    t0 = hax.random.randint(jax.random.PRNGKey(2), (B, Pos), 0, 32)

    def loss(x, w, t):
        return hnn.fused_cross_entropy_loss(x, w, E, V, t, block_size=8)

    def ref(x, w, t):
        return hnn.cross_entropy_loss(hax.dot(x, w, axis=E), V, hnn.one_hot(t, V))

    with jax.set_mesh(mesh), hax.axis_mapping({"batch": "data", "embed": "model", "vocab": "model"}):
        x, w, t = _on_mesh(mesh, x0, w0, t0)
        _check(loss(x, w, t), ref(x0, w0, t0).array)
        per_token = jax.jit(lambda x, w, t: hnn.fused_cross_entropy_loss(x, w, E, V, t, reduction=None))(x, w, t)
        _check(per_token, hnn.cross_entropy_loss(hax.dot(x0, w0, axis=E), V, hnn.one_hot(t0, V), reduction=None).array)
        gx, gw = jax.jit(jax.grad(lambda x, w, t: loss(x, w, t).scalar(), argnums=(0, 1)))(x, w, t)
    rx, rw = jax.grad(lambda x, w, t: ref(x, w, t).scalar(), argnums=(0, 1))(x0, w0, t0)
    np.testing.assert_allclose(np.asarray(gx.array), np.asarray(rx.array), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(np.asarray(gw.array), np.asarray(rw.array), rtol=1e-4, atol=1e-5)


def test_named_jit_in_and_out_axis_resources(mesh):
    x0 = _rand(0, (B, E))

    def f(x):
        return hax.dot(x, x, axis="embed")

    with jax.set_mesh(mesh):
        g = hax.named_jit(
            f,
            axis_resources={"batch": "data", "embed": "model"},
            in_axis_resources={"batch": "data", "embed": "model"},
            out_axis_resources={"batch": "model"},
        )
        out = g(x0)
    assert out.axes == (B,)
    np.testing.assert_allclose(np.asarray(out.array), np.asarray((x0.array**2).sum(1)), rtol=1e-5)
    assert _spec(out) == ("model",)


# --------------------------------------------------------------------------------------------------
# errors


def test_unknown_mesh_axis_in_mapping(mesh):
    with jax.set_mesh(mesh), hax.axis_mapping({"batch": "dta"}):
        with pytest.raises(PartitioningError, match=r"shard: .*logical axis 'batch'.*mesh axis 'dta'") as e:
            hax.shard(hax.named(jnp.zeros(4), (B,)))
        with pytest.raises(PartitioningError, match=r"zeros: .*logical axis 'batch'.*mesh axis 'dta'"):
            hax.zeros(B)
        msg = str(e.value)
        assert "'data': 2" in msg and "'model': 4" in msg and "Did you mean 'data'?" in msg
        assert "batch(4)" in msg and "{'batch': 'dta'}" in msg
        with pytest.raises(ValueError, match=r"dot: .*logical axis 'batch'.*mesh axis 'dta'"):
            hax.dot(hax.named(jnp.ones((4, 8)), (B, E)), hax.named(jnp.ones(8), (E,)), axis="embed")
        with pytest.raises(PartitioningError, match="physical_axis_size.*'dta'"):
            hax.partitioning.physical_axis_size(B)
        with pytest.raises(PartitioningError, match="'dta'"):
            hax.round_axis_for_partitioning(B)


def test_unknown_mesh_axis_is_not_a_key_error_on_auto_meshes():
    auto = jax.make_mesh((2, 4), ("data", "model"), axis_types=(AxisType.Auto,) * 2)
    with jax.set_mesh(auto), hax.axis_mapping({"batch": "modle"}):
        with pytest.raises(PartitioningError, match="Did you mean 'model'"):
            hax.shard(hax.zeros(B))
        with pytest.raises(PartitioningError, match="'modle'"):
            hax.round_axis_for_partitioning(B)


@pytest.mark.parametrize("kind", [AxisType.Explicit, AxisType.Auto])
def test_size_that_does_not_divide(kind):
    m = jax.make_mesh((2, 4), ("data", "model"), axis_types=(kind,) * 2)
    Odd = hax.Axis("batch", 6)
    with jax.set_mesh(m), hax.axis_mapping({"batch": "model"}):
        with pytest.raises(
            PartitioningError, match=r"shard: axis batch\(6\) is mapped to mesh axis 'model' of size 4"
        ) as e:
            hax.shard(hax.zeros((Odd, E)))
        msg = str(e.value)
        assert "round_axis_for_partitioning" in msg and "batch(8)" in msg and "'data': 2, 'model': 4" in msg
        assert "(batch(6), embed(8))" in msg
        assert hax.round_axis_for_partitioning(Odd) == hax.Axis("batch", 8)


def test_size_that_does_not_divide_inside_jit_on_explicit_mesh(mesh):
    Odd = hax.Axis("batch", 6)
    with jax.set_mesh(mesh), hax.axis_mapping({"batch": "model"}):
        with pytest.raises(PartitioningError, match="round_axis_for_partitioning"):
            jax.jit(hax.shard)(hax.zeros((Odd, E)))


# --------------------------------------------------------------------------------------------------
# the GPT of examples/gpt_char.py: three steps on a 2x4 explicit mesh equal one device


def _load_gpt():
    spec = importlib.util.spec_from_file_location("gpt_char_explicit", EXAMPLES / "gpt_char.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _train(mod, mesh, steps=3):
    """Three AdamW steps of the tiny CharGPT; returns the losses, the model and the typed activations seen."""
    Batch, Pos = hax.Axis("batch", 4), hax.Axis("position", 16)
    model = mod.CharGPT.init({"embed": 16, "heads": 4, "layers": 2}, key=jax.random.PRNGKey(0))
    opt = optax.adamw(1e-2)
    rng = np.random.default_rng(0)
    data = [rng.integers(0, 256, size=(4, 17)) for _ in range(steps)]
    mapping = {"batch": "data", "heads": "model", "mlp": "model"}
    seen: list = []

    def record(name, x):
        seen.append((name, x.axes, _spec(x)))

    def loss_fn(model, inputs, labels):
        x = model.embed(inputs)
        record("embed", x)
        layer0 = model.blocks.get_layer(0)  # the activations inside one block
        h = layer0.ln1(x)
        q = layer0.attn.q_proj(h) if hasattr(layer0.attn, "q_proj") else None
        if q is not None:
            record("q", q)
        a = layer0.attn(h, hnn.attention.AttentionMask.causal())
        record("attention", a)
        hidden = layer0.mlp.layers[0](layer0.ln2(x)) if hasattr(layer0.mlp, "layers") else None
        if hidden is not None:
            record("mlp hidden", hidden)
        record("mlp", layer0.mlp(layer0.ln2(x)))
        x = model.blocks.fold(x)
        record("blocks", x)
        logits = model.embed.unembed(model.ln_f(x))
        record("logits", logits)
        return hnn.cross_entropy_loss(logits, mod.Vocab, hnn.one_hot(labels, mod.Vocab, dtype=logits.dtype)).scalar()

    def step(model, opt_state, inputs, labels):
        loss, grads = eqx.filter_value_and_grad(loss_fn)(model, inputs, labels)
        updates, opt_state = opt.update(grads, opt_state, eqx.filter(model, eqx.is_array))
        return eqx.apply_updates(model, updates), opt_state, loss

    losses = []
    if mesh is None:
        opt_state = opt.init(eqx.filter(model, eqx.is_array))
        jstep = eqx.filter_jit(step)
        for d in data:
            inputs = hax.named(jnp.asarray(d[:, :-1], jnp.int32), (Batch, Pos))
            labels = hax.named(jnp.asarray(d[:, 1:], jnp.int32), (Batch, Pos))
            model, opt_state, loss = jstep(model, opt_state, inputs, labels)
            losses.append(float(loss))
        return losses, model, seen
    with jax.set_mesh(mesh), hax.axis_mapping(mapping):
        model = hax.shard(model)
        opt_state = opt.init(eqx.filter(model, eqx.is_array))
        jstep = hax.named_jit(step, axis_resources=mapping)
        for d in data:
            inputs = hax.shard(hax.named(jnp.asarray(d[:, :-1], jnp.int32), (Batch, Pos)))
            labels = hax.shard(hax.named(jnp.asarray(d[:, 1:], jnp.int32), (Batch, Pos)))
            model, opt_state, loss = jstep(model, opt_state, inputs, labels)
            losses.append(float(loss))
    return losses, model, seen, mapping, opt_state


def test_gpt_char_trains_on_explicit_mesh_like_one_device(mesh):
    mod = _load_gpt()
    single, _, _ = _train(mod, None)
    losses, model, seen, mapping, opt_state = _train(mod, mesh)
    np.testing.assert_allclose(losses, single, rtol=1e-5, atol=1e-5)
    assert losses[-1] < losses[0]
    # every parameter (and AdamW moment) has the typed sharding its names give
    params = [x for x in jax.tree_util.tree_leaves(model, is_leaf=hax.is_named_array) if hax.is_named_array(x)]
    moments = [x for x in jax.tree_util.tree_leaves(opt_state, is_leaf=hax.is_named_array) if hax.is_named_array(x)]
    assert params and moments
    for x in params + moments:
        assert _spec(x) == _names_spec(x, mapping), (x.axes, _spec(x))
    assert any("model" in _spec(x) for x in params) and any(len(x.array.sharding.device_set) == 8 for x in params)
    # every activation recorded while tracing (shardings are part of the types) is as the names say
    names = {n for n, _, _ in seen}
    assert {"embed", "attention", "mlp", "blocks", "logits"} <= names
    for name, axes, spec in seen:
        want = tuple(pspec_for_axis(axes, mapping))
        assert spec == want + (None,) * (len(axes) - len(want)), (name, axes, spec)
    assert any(s[0] == "data" for _, _, s in seen)


@pytest.mark.slow
def test_gpt_char_example_runs_with_explicit_mesh(tmp_path, monkeypatch):
    """`examples/gpt_char.py --mesh data=2,model=4 --explicit` in a tiny configuration: same losses as one device."""
    monkeypatch.setenv("TQDM_DISABLE", "1")
    mod = _load_gpt()
    data = tmp_path / "data.txt"
    data.write_text("def f(x):\n    return x + 1\n" * 200)
    common = ["--data", str(data), "--tiny", "--eval-every", "3", "--steps", "3", "--sample-len", "4"]
    single = mod.main(common + ["--out", str(tmp_path / "a")])
    explicit = mod.main(common + ["--out", str(tmp_path / "b"), "--mesh", "data=2,model=4", "--explicit"])
    for (s1, l1, v1), (s2, l2, v2) in zip(single["history"], explicit["history"], strict=True):
        assert s1 == s2 and abs(l1 - l2) <= 1e-5 * max(1.0, abs(l1)), (s1, l1, l2)
        assert (v1 is None) == (v2 is None) and (v1 is None or abs(v1 - v2) <= 1e-5 * max(1.0, abs(v1)))
    assert isinstance(explicit["sample"], str)
    leaves = [x for x in jax.tree_util.tree_leaves(explicit["model"]) if isinstance(x, jax.Array)]
    assert any("model" in str(jax.typeof(x)) for x in leaves)
    with pytest.raises(SystemExit, match="--explicit needs --mesh"):
        mod.main(common + ["--out", str(tmp_path / "c"), "--explicit"])


def test_unknown_mesh_axis_in_sharding_helpers(mesh):
    tree = {"w": hax.zeros((B, E))}
    with pytest.raises(PartitioningError, match=r"infer_resource_partitions: .*logical axis 'embed'.*'modle'") as e:
        hax.partitioning.infer_resource_partitions(tree, {"embed": "modle"}, mesh=mesh)
    assert "Did you mean 'model'?" in str(e.value) and "(batch(4), embed(8))" in str(e.value)
    with pytest.raises(PartitioningError, match=r"sharding_for_axis: .*logical axis 'batch'.*'dat'"):
        hax.partitioning.sharding_for_axis((B, E), {"batch": "dat"}, mesh=mesh)
    with jax.set_mesh(mesh), pytest.raises(PartitioningError, match=r"shard: .*logical axis 'batch'.*'dat'"):
        hax.named_jit(lambda x: x * 2, out_axis_resources={"batch": "dat"})(hax.zeros(B))
    # a mapping entry for a mesh axis the mesh lacks is fine as long as no array uses it
    assert hax.partitioning.sharding_for_axis((E,), {"batch": "dat"}, mesh=mesh).spec == P(None)


def test_stacked_fold_scan_and_grads(mesh):
    Layers, Pos = hax.Axis("layers", 2), hax.Axis("position", 8)
    stacked0 = hnn.Stacked.init(Layers, hnn.MLP)(E, E, M, 1, key=jax.random.split(jax.random.PRNGKey(0), 2))
    x0 = _rand(1, (B, Pos, E))

    def loss(s, x):
        return hax.mean(s.fold(x) ** 2).scalar()

    ref_out, ref_grads = stacked0.fold(x0), jax.grad(loss)(stacked0, x0)
    with jax.set_mesh(mesh), hax.axis_mapping({"batch": "data", "mlp": "model"}):
        stacked = hax.shard(stacked0)
        (x,) = _on_mesh(mesh, x0)
        _check(jax.jit(lambda s, x: s.fold(x))(stacked, x), ref_out.array)
        scanned, _ = jax.jit(lambda s, x: s.scan_via(lambda blk, c: (blk(c), None))(x))(stacked, x)
        _check(scanned, ref_out.array)
        grads = jax.jit(jax.grad(loss))(stacked, x)
        for g, r in zip(
            jax.tree_util.tree_leaves(grads, is_leaf=hax.is_named_array),
            jax.tree_util.tree_leaves(ref_grads, is_leaf=hax.is_named_array),
            strict=True,
        ):
            np.testing.assert_allclose(np.asarray(g.array), np.asarray(r.array), rtol=1e-4, atol=1e-6)
            assert _spec(g) == _names_spec(g), (g.axes, _spec(g))


def test_moe_linear(mesh):
    Experts, Tok = hax.Axis("experts", 4), hax.Axis("tok", 16)
    moe0 = hnn.MoELinear.init(Experts, E, M, key=jax.random.PRNGKey(0))
    x0 = _rand(1, (Tok, E))
    sizes = jnp.array([4, 4, 4, 4])
    ref = moe0(x0, sizes)
    with jax.set_mesh(mesh), hax.axis_mapping({"tok": "data", "mlp": "model", "embed": "model"}):
        moe = hax.shard(moe0)
        (x,) = _on_mesh(mesh, x0)
        _check(moe(x, sizes), ref.array)
        _check(jax.jit(lambda m, x: m(x, sizes))(moe, x), ref.array)


def test_operands_typed_by_different_mappings(mesh):
    """Same axes, different typed shardings (say parameters placed by one mapping, activations by another):
    with a mapping active the operands are resharded to the output's names; without one the error names the
    operands' axes and types, the mesh and the missing mapping."""
    x0 = _rand(0, (B, E))
    with jax.set_mesh(mesh):
        a = hax.shard(x0, {"batch": "data", "embed": "model"})
        b = hax.shard(x0, {"embed": "data"})
        with hax.axis_mapping({"batch": "data", "embed": "model"}):
            _check(a + b, 2 * np.asarray(x0.array))
            _check(jax.jit(lambda a, b: a * b)(a, b), np.asarray(x0.array) ** 2)
        with pytest.raises(
            PartitioningError, match=r"add: operand 0 \(batch\(4\), embed\(8\)\) typed float32\[4@data,8@model\]"
        ) as e:
            a + b  # noqa: B018
    msg = str(e.value)
    assert "float32[4,8@data]" in msg and "'data': 2, 'model': 4" in msg and "none active" in msg


@pytest.mark.parametrize("kind", ["int8", "fp8"])
def test_quantized_linear_over_sharded_contracted_axis(mesh, kind):
    """A custom dot_general takes no out_sharding: it runs on Auto axes, and its output is typed by the names."""
    from haliax.quantization import Fp8DotGeneralOp, Int8DotGeneralOp

    op = Int8DotGeneralOp.init() if kind == "int8" else Fp8DotGeneralOp.init()
    lin0 = hnn.Linear.init(E, M, key=jax.random.PRNGKey(0), dot_general=op)
    x0 = _rand(1, (B, E))
    ref = lin0(x0)
    ref_grad = eqx.filter_grad(lambda m, x: m(x).sum().scalar())(lin0, x0)
    with jax.set_mesh(mesh), hax.axis_mapping({"batch": "data", "embed": "model"}):
        lin = hax.shard(lin0)
        (x,) = _on_mesh(mesh, x0)
        assert _spec(x)[1] == "model" and _spec(lin.weight)[lin.weight.axes.index(E)] == "model"
        _check(lin(x), ref.array)
        _check(eqx.filter_jit(lambda m, x: m(x))(lin, x), ref.array)
        grad = eqx.filter_jit(eqx.filter_grad(lambda m, x: m(x).sum().scalar()))(lin, x)
        np.testing.assert_allclose(np.asarray(grad.weight.array), np.asarray(ref_grad.weight.array), rtol=1e-5)
        w = lin.weight.rearrange((E, M))
        _check(
            hax.einsum("b e, e m -> b m", x, w, _dot_general=op),
            hax.einsum("b e, e m -> b m", x0, lin0.weight.rearrange((E, M)), _dot_general=op).array,
        )


def test_concatenate_stack_where_of_differently_sharded_operands(mesh):
    x0, y0, z0 = _rand(0, (B, E)), _rand(1, (B, E.resize(4))), _rand(2, (B, E.resize(6)))
    with jax.set_mesh(mesh), hax.axis_mapping({"batch": "data", "embed": "model"}):
        (x,) = _on_mesh(mesh, x0)
        y, z = hax.shard(y0, {"embed": "data"}), hax.shard(z0, {"batch": "data"})
        xt = hax.shard(x0, {"embed": "data"})
        rx, ry, rz = (np.asarray(a.array) for a in (x0, y0, z0))
        _check(hax.concatenate("embed", [x, y]), np.concatenate([rx, ry], 1))
        _check(jax.jit(lambda a, b: hax.concatenate("embed", [a, b]))(x, z), np.concatenate([rx, rz], 1))
        _check(hax.concatenate("batch", [x, xt]), np.concatenate([rx, rx], 0))
        _check(hax.stack("s", [x, xt]), np.stack([rx, rx]))
        _check(hax.where(x > 0, x, xt * 2), np.where(rx > 0, rx, 2 * rx))
        _check(jax.jit(lambda a, b: hax.where(b > 0, a, 0.0))(x, xt), np.where(rx > 0, rx, 0.0))
