"""Embedding on bad input: ids whose axes collide with the weight's Embed axes."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import haliax as hax
import haliax.nn as hnn

V, E, B = hax.make_axes(vocab=5, embed=3, batch=2)
KEY = jax.random.PRNGKey(0)


def test_ids_with_an_embed_axis_raise_instead_of_gathering_along_it():
    emb = hnn.Embedding.init(V, E, key=KEY)
    ids = hax.named(jnp.array([0, 1, 2]), E)  # same name and size as Embed: take would batch over it
    with pytest.raises(
        ValueError,
        match=r"^Embedding\.embed: argument 'input_ids' has axes \(embed\(3\)\) named like the Embed axes of the "
        r"weight \(embed\(3\)\).*Rename the ids' axis",
    ):
        emb(ids)


def test_ids_with_an_embed_axis_of_another_size_raise():
    emb = hnn.Embedding.init(V, E, key=KEY)
    with pytest.raises(ValueError, match=r"Embedding\.embed: argument 'input_ids' has axes \(embed\(4\)\)"):
        emb.embed(hax.zeros(E.resize(4), dtype=jnp.int32))


def test_multi_axis_embed_checks_every_axis():
    H = hax.Axis("heads", 2)
    emb = hnn.Embedding.init(V, (H, E), key=KEY)
    with pytest.raises(ValueError, match=r"has axes \(heads\(2\)\) named like the Embed axes .*heads\(2\), embed\(3\)"):
        emb(hax.zeros((B, H), dtype=jnp.int32))


def test_renamed_ids_give_one_row_per_id():
    emb = hnn.Embedding.init(V, E, key=KEY)
    ids = hax.named(jnp.array([0, 1, 2]), E).rename({"embed": "tok"})
    out = emb(ids)
    assert [a.name for a in out.axes] == ["tok", "embed"]
    np.testing.assert_array_equal(out.array, emb.weight.array[:3])


def test_ids_with_a_vocab_axis_are_fine():
    emb = hnn.Embedding.init(V, E, key=KEY)
    out = emb(hax.arange(V))
    np.testing.assert_array_equal(out.array, emb.weight.array)


def test_unembed_input_with_a_vocab_axis_raises():
    emb = hnn.Embedding.init(V, E, key=KEY)
    with pytest.raises(
        ValueError,
        match=r"^Embedding\.unembed: argument 'input_embeds' already has an axis named like Vocab vocab\(5\) "
        r"\(axes vocab\(5\), embed\(3\)\)",
    ):
        emb.unembed(hax.ones((V, E)))


def test_unembed_gives_one_logit_per_vocab_entry():
    emb = hnn.Embedding.init(V, E, key=KEY)
    h = hax.random.normal(jax.random.PRNGKey(1), (E, B))
    out = emb.unembed(h)
    assert set(a.name for a in out.axes) == {"batch", "vocab"}
    np.testing.assert_allclose(out.rearrange((B, V)).array, h.array.T @ emb.weight.array.T, rtol=1e-5, atol=1e-6)
