import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest
import safetensors

import haliax as hax
import haliax.nn as hnn
from haliax.state_dict import (
    ModuleWithStateDictSerialization,
    flatten_modules_for_export,
    from_state_dict,
    from_torch_compatible_state_dict,
    load_state_dict,
    save_state_dict,
    to_numpy_state_dict,
    to_state_dict,
    to_torch_compatible_state_dict,
    unflatten_modules_from_export,
    with_prefix,
)

D, E, H, O, L = hax.make_axes(D=4, E=3, H=2, O=5, L=3)
KEY = jax.random.PRNGKey(0)


class Block(eqx.Module):
    ln: hnn.LayerNorm
    attn: hnn.Linear
    drop: hnn.Dropout
    extra: list
    table: dict
    scale: float
    nothing: None = None


def _block(key=KEY):
    k1, k2, k3 = jax.random.split(key, 3)
    return Block(
        ln=hnn.LayerNorm.init((D, E)),
        attn=hnn.Linear.init((D, E), (H, O), key=k1),
        drop=hnn.Dropout(0.1),
        extra=[hax.random.normal(k2, (D,)), jnp.arange(3.0)],
        table={"a": hax.random.normal(k3, (O,))},
        scale=2.0,
    )


def test_with_prefix():
    assert with_prefix(None, None) is None
    assert with_prefix("a", None) == "a"
    assert with_prefix(None, "b") == "b"
    assert with_prefix("a.b", "c") == "a.b.c"


def test_to_state_dict_walks_everything():
    blk = _block()
    sd = to_state_dict(blk, "model")
    assert sorted(sd) == [
        "model.attn.bias",
        "model.attn.weight",
        "model.drop.inference",
        "model.extra.0",
        "model.extra.1",
        "model.ln.bias",
        "model.ln.weight",
        "model.scale",
        "model.table.a",
    ]
    assert sd["model.attn.weight"].shape == (H.size, O.size, D.size, E.size)
    assert sd["model.drop.inference"] is False and sd["model.scale"] == 2.0
    assert isinstance(sd["model.extra.0"], jax.Array)


def test_tuples_are_like_lists():
    sd = to_state_dict((hax.zeros(D), (hax.ones(E),)), "t")
    assert sorted(sd) == ["t.0", "t.1.0"]
    back = from_state_dict((hax.ones(D), (hax.zeros(E),)), sd, "t")
    assert isinstance(back, tuple) and isinstance(back[1], tuple)
    assert back[0].tolist() == [0.0] * D.size and back[1][0].tolist() == [1.0] * E.size


def test_errors_in_to_state_dict():
    with pytest.raises(ValueError, match="needs a key"):
        to_state_dict(hax.zeros(D))
    with pytest.raises(ValueError, match="Unsupported type"):
        to_state_dict({"x": object()})
    assert to_state_dict(None, "x") == {}
    assert to_state_dict({"f": jnp.sin}) == {}  # functions carry no state


def test_round_trip_and_leniency():
    blk = _block()
    sd = to_state_dict(blk)
    sd["unused.key"] = np.ones(2)  # extra keys are reported (strict loading is the default since issue 9)
    target = _block(jax.random.PRNGKey(9))
    back, report = from_state_dict(target, sd, strict=False)
    assert back == blk and report.unexpected == ("unused.key",)
    del sd["unused.key"]
    assert back.drop.pdrop == 0.1 and back.nothing is None
    # NumPy values are placed on device
    back_np = from_state_dict(target, to_numpy_state_dict(blk))
    assert isinstance(back_np.attn.weight.array, jax.Array)
    assert back_np == blk
    # non-array leaves fall back to the template when missing
    del sd["drop.inference"], sd["scale"]
    back2 = from_state_dict(target, sd)
    assert back2.drop.inference is False and back2.scale == 2.0


def test_missing_key_and_shape_errors():
    blk = _block()
    sd = to_state_dict(blk)
    bad = dict(sd)
    bad["ln.weigth"] = bad.pop("ln.weight")
    with pytest.raises(KeyError, match="ln.weight") as e:
        from_state_dict(blk, bad)
    assert "ln.weigth" in str(e.value)  # closest key suggested
    bad = dict(sd)
    bad["attn.bias"] = np.ones((3,))
    with pytest.raises(ValueError, match="attn.bias"):
        from_state_dict(blk, bad)
    bad = dict(sd)
    bad["extra.1"] = np.ones((4,))
    with pytest.raises(ValueError, match="extra.1"):
        from_state_dict(blk, bad)


class Renamed(ModuleWithStateDictSerialization):
    inner: hnn.Linear
    norm: hnn.LayerNorm

    def _state_dict_key_map(self):
        return {"inner": None, "norm": "ln_f"}


def test_key_map_rename_and_splice():
    m = Renamed(hnn.Linear.init(D, O, key=KEY), hnn.LayerNorm.init(O))
    sd = to_state_dict(m, "p")
    assert sorted(sd) == ["p.bias", "p.ln_f.bias", "p.ln_f.weight", "p.weight"]
    other = Renamed(hnn.Linear.init(D, O, key=jax.random.PRNGKey(3)), hnn.LayerNorm.init(O))
    assert from_state_dict(other, sd, "p") == m


def test_custom_init_module_round_trip():
    d = hnn.Dropout(0.3, broadcast_axes=D, inference=False)
    back = from_state_dict(d, {"inference": True})
    assert back.inference is True and back.pdrop == 0.3 and back.broadcast_axes == D


def test_default_module_methods():
    class Plain(ModuleWithStateDictSerialization):
        w: hax.NamedArray

    p = Plain(hax.ones(D))
    assert p.flatten_for_export() is p and p.unflatten_from_export(p) is p
    assert from_state_dict(p, {"x.w": np.zeros(D.size)}, "x").w.tolist() == [0.0] * D.size


def test_flatten_modules_tree():
    blk = _block()
    flat = flatten_modules_for_export(blk)
    assert flat.attn.weight.axes == (hax.Axis("__OUT__", 10), hax.Axis("__IN__", 12))
    assert flat.ln.axis == hax.Axis("__OUT", 12)
    assert flat.extra[0] is blk.extra[0]
    back = unflatten_modules_from_export(flat, blk)
    assert back == blk


def test_flatten_inside_stacked():
    stack = hnn.Stacked.init(L, hnn.Linear)((D, E), O, key=jax.random.split(KEY, L.size))
    flat = flatten_modules_for_export(stack)
    sd = to_state_dict(flat)
    assert sorted(sd) == ["0.bias", "0.weight", "1.bias", "1.weight", "2.bias", "2.weight"]
    assert sd["0.weight"].shape == (O.size, D.size * E.size)
    np.testing.assert_array_equal(sd["1.weight"], stack.stacked.weight.array[1].reshape(O.size, -1))
    back = unflatten_modules_from_export(flat, stack)
    assert back == stack


@pytest.mark.slow  # integration: a training loop or a torch/transformers interop check
def test_torch_compatible_round_trip_into_torch():
    torch = pytest.importorskip("torch")
    mlp = hnn.MLP.init((D, E), O, width=6, depth=1, key=KEY)
    sd = to_torch_compatible_state_dict(mlp)
    assert all(isinstance(v, np.ndarray) for v in sd.values())
    torch_mlp = torch.nn.ModuleDict(
        {"layers": torch.nn.ModuleList([torch.nn.Linear(D.size * E.size, 6), torch.nn.Linear(6, O.size)])}
    )
    torch_mlp.load_state_dict({k: torch.from_numpy(np.array(v)) for k, v in sd.items()})
    x = hax.random.normal(jax.random.PRNGKey(2), (H, D, E))
    h = torch.relu(torch_mlp["layers"][0](torch.from_numpy(np.array(x.array).reshape(H.size, -1))))
    ref = torch_mlp["layers"][1](h).detach().numpy()
    np.testing.assert_allclose(mlp(x).array, ref, rtol=1e-5, atol=1e-5)
    # back again, starting from a shape-only template
    template = eqx.filter_eval_shape(lambda: hnn.MLP.init((D, E), O, width=6, depth=1, key=KEY))
    back = from_torch_compatible_state_dict(template, sd)
    assert back == mlp
    assert from_torch_compatible_state_dict(mlp, to_state_dict(mlp), unflatten=False) == mlp


def test_torch_compatible_drops_non_arrays():
    sd = to_torch_compatible_state_dict(_block(), prefix="b")
    assert "b.drop.inference" not in sd and "b.scale" not in sd
    assert sd["b.ln.weight"].shape == (12,) and sd["b.attn.weight"].shape == (10, 12)


@pytest.mark.parametrize("dtype", [jnp.float32, jnp.bfloat16, jnp.int32])
def test_save_load_safetensors(tmp_path, dtype):
    sd = {
        "a.weight": jnp.arange(6).reshape(2, 3).astype(dtype),
        "b": np.ones(4, dtype=np.float32),
        "none": None,
        "flag": True,
    }
    path = str(tmp_path / "model.safetensors")
    save_state_dict(sd, path)
    loaded = load_state_dict(path)
    assert sorted(loaded) == ["a.weight", "b"]
    assert all(isinstance(v, np.ndarray) for v in loaded.values())
    assert loaded["a.weight"].dtype == np.dtype(dtype)
    np.testing.assert_array_equal(np.asarray(loaded["a.weight"], np.float32), np.arange(6).reshape(2, 3))
    with safetensors.safe_open(path, framework="numpy") as f:
        meta = f.metadata()
    assert meta.pop("haliax.crc32").startswith('{"a.weight": "')  # one CRC-32 per tensor, verified on load
    assert meta == {"format": "pt"}


def test_save_load_model(tmp_path):
    blk = _block()
    path = str(tmp_path / "blk.safetensors")
    save_state_dict(to_state_dict(blk), path)
    back = from_state_dict(_block(jax.random.PRNGKey(4)), load_state_dict(path))
    assert back == blk
    # the file is readable by torch's safetensors loader as well
    pytest.importorskip("torch")
    from safetensors.torch import load_file

    assert tuple(load_file(path)["attn.weight"].shape) == (H.size, O.size, D.size, E.size)
