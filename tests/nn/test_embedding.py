import warnings

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import haliax as hax
import haliax.nn as hnn
from haliax.axis import AxisIndexError
from haliax.nn.mup import EmbeddingMup, EmbeddingStandardParam
from haliax.state_dict import from_state_dict, to_state_dict

V, E, E2, B, P = hax.make_axes(Vocab=10, Embed=8, Head=2, B=2, P=3)
KEY = jax.random.PRNGKey(0)


def _ids(seed=1):
    return hax.random.randint(jax.random.PRNGKey(seed), (B, P), 0, V.size)


def test_init_axes_and_values():
    emb = hnn.Embedding.init(V, E, key=KEY, init_scale=0.5)
    assert emb.weight.axes == (V, E)
    expected = jax.random.truncated_normal(KEY, -3, 3, (V.size, E.size)) * (0.5 / E.size)
    np.testing.assert_array_equal(emb.weight.array, expected)
    multi = hnn.Embedding.init(V, (E, E2), key=KEY)
    assert multi.weight.axes == (V, E, E2)
    with pytest.raises(ValueError):
        hnn.Embedding.init(V, V.alias("Vocab"), key=KEY)


def test_init_std_divides_by_width():
    Vb, Eb = hax.Axis("Vocab", 4096), hax.Axis("Embed", 64)
    emb = hnn.Embedding.init(Vb, Eb, key=KEY, init_scale=2.0)
    expected = 0.98664 * 2.0 / 64
    assert abs(float(jnp.std(emb.weight.array)) / expected - 1) < 0.02


def test_mup_weights_are_standard_times_width():
    std = hnn.Embedding.init(V, E, key=KEY, init_scale=0.7)
    mup = hnn.Embedding.init(V, E, key=KEY, init_scale=0.7, reparam_cls=EmbeddingMup)
    np.testing.assert_allclose(mup.weight.array, std.weight.array * E.size, rtol=1e-6)
    assert mup.reparam.unembed_active_scale == 1 / E.size
    assert isinstance(std.reparam, EmbeddingStandardParam) and std.reparam.Embed == E and std.reparam.Vocab == V


def test_initializer_range_deprecated():
    with pytest.warns(DeprecationWarning):
        emb = hnn.Embedding.init(V, E, key=KEY, initializer_range=0.5)
    np.testing.assert_array_equal(emb.weight.array, hnn.Embedding.init(V, E, key=KEY, init_scale=0.5).weight.array)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        hnn.Embedding.init(V, E, key=KEY)


def test_embed_gathers_rows():
    emb = hnn.Embedding.init(V, (E, E2), key=KEY)
    ids = _ids()
    out = emb(ids)
    assert out.axes == (B, P, E, E2)
    np.testing.assert_array_equal(out.array, emb.weight.array[ids.array])
    np.testing.assert_array_equal(emb.embed(ids).array, out.array)
    np.testing.assert_array_equal(emb(ids, key=jax.random.PRNGKey(3)).array, out.array)


def test_embed_index_semantics():
    emb = hnn.Embedding.init(V, E, key=KEY)
    ids = hax.named(jnp.array([-1, V.size]), "B")
    out = eqx.filter_jit(lambda m, i: m(i))(emb, ids)  # traced ids cannot be checked
    np.testing.assert_array_equal(out.array[0], emb.weight.array[-1])  # negative ids wrap
    assert np.isnan(np.asarray(out.array[1])).all()  # out of range under jit → NaN row
    np.testing.assert_array_equal(emb(ids["B", 0:1]).array[0], emb.weight.array[-1])  # eager: wraps too


def test_embed_wrong_dtype_raises():
    emb = hnn.Embedding.init(V, E, key=KEY)
    with pytest.raises(ValueError, match="integer") as e:
        emb(hax.zeros((B, P)))
    assert "B(2)" in str(e.value)
    with pytest.raises(TypeError):
        emb(jnp.zeros((2,), dtype=int))


def test_unembed():
    emb = hnn.Embedding.init(V, E, key=KEY)
    x = hax.random.normal(jax.random.PRNGKey(2), (P, E, B))
    out = emb.unembed(x)
    assert out.axes == (P, B, V)
    np.testing.assert_allclose(out.array, jnp.einsum("peb,ve->pbv", x.array, emb.weight.array), rtol=1e-5, atol=1e-6)
    mup = hnn.Embedding(weight=emb.weight, Vocab=V, Embed=E, _reparam_cls=EmbeddingMup)
    np.testing.assert_allclose(mup.unembed(x).array, out.array / E.size, rtol=1e-5, atol=1e-7)
    with pytest.raises(ValueError, match="Embed"):
        emb.unembed(hax.ones((B, P)))


def test_resize_embeddings():
    emb = hnn.Embedding.init(V, E, key=KEY)
    small = emb.resize_embeddings(4)
    assert small.Vocab == V.resize(4) and small.weight.axes == (V.resize(4), E)
    np.testing.assert_array_equal(small.weight.array, emb.weight.array[:4])
    big = emb.resize_embeddings(13)
    assert big.Vocab.size == 13
    np.testing.assert_array_equal(big.weight.array[:10], emb.weight.array)
    mean = emb.weight.array.mean(axis=0)
    np.testing.assert_allclose(big.weight.array[10:], np.broadcast_to(mean, (3, E.size)), rtol=1e-5, atol=1e-7)
    rnd = emb.resize_embeddings(13, key=jax.random.PRNGKey(4))
    np.testing.assert_array_equal(rnd.weight.array[:10], emb.weight.array)
    assert not np.allclose(rnd.weight.array[10], rnd.weight.array[11])
    assert emb.resize_embeddings(V.size) == emb


def test_state_dict_is_unscaled_weight():
    emb = hnn.Embedding.init(V, E, key=KEY, reparam_cls=EmbeddingMup)
    sd = to_state_dict(emb, "wte")
    assert list(sd) == ["wte.weight"]
    np.testing.assert_array_equal(sd["wte.weight"], emb.weight.array)
    assert (
        from_state_dict(hnn.Embedding.init(V, E, key=jax.random.PRNGKey(5), reparam_cls=EmbeddingMup), sd, "wte") == emb
    )


def test_jit_and_grad():
    emb = hnn.Embedding.init(V, E, key=KEY)
    ids = _ids()
    np.testing.assert_array_equal(eqx.filter_jit(lambda m, i: m(i))(emb, ids).array, emb(ids).array)
    g = eqx.filter_grad(lambda m: m(ids).sum().scalar())(emb)
    counts = np.bincount(np.asarray(ids.array).ravel(), minlength=V.size)
    np.testing.assert_allclose(g.weight.array, np.broadcast_to(counts[:, None], (V.size, E.size)))
    assert len(jax.tree_util.tree_leaves(emb)) == 1


# ---------------------------------------------------------------------------------------------- out-of-range ids


@pytest.mark.parametrize("bad", [V.size, V.size + 5, -V.size - 1])
def test_eager_out_of_range_ids_raise(bad):
    emb = hnn.Embedding.init(V, E, key=KEY)
    ids = hax.named(jnp.array([[0, 1, 2], [3, bad, 4]]), (B, P))
    with pytest.raises(
        IndexError,
        match=rf"Embedding.embed: argument 'input_ids' has 1 id\(s\) out of bounds for axis Vocab with size 10 "
        rf"\(valid: -10 to 9\); first: {bad} at B=1, P=1",
    ) as e:
        emb(ids)
    assert isinstance(e.value, AxisIndexError) and isinstance(e.value, ValueError)


def test_eager_out_of_range_python_int_raises():
    emb = hnn.Embedding.init(V, E, key=KEY)
    with pytest.raises(AxisIndexError, match=r"Embedding.embed: argument 'input_ids'.*first: 12$"):
        emb.embed(12)


def test_in_range_ids_including_negative_bounds_work():
    emb = hnn.Embedding.init(V, E, key=KEY)
    out = emb(hax.named(jnp.array([-V.size, V.size - 1]), B))
    np.testing.assert_array_equal(out.array, emb.weight.array[jnp.array([0, V.size - 1])])


def test_ids_are_checked_under_grad_of_the_weights():
    emb = hnn.Embedding.init(V, E, key=KEY)
    ids = hax.named(jnp.array([1, V.size]), B)
    with pytest.raises(AxisIndexError, match="Vocab with size 10"):
        eqx.filter_grad(lambda m: m(ids).sum().scalar())(emb)
