"""haliax.quantization: the gradient-overwrite protocol, QuantizationConfig, quantize_linear_layers, state dicts."""

import dataclasses
import doctest
import importlib
import subprocess
import sys
import warnings

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import haliax as hax
import haliax.nn as hnn
from haliax.quantization import (
    DefaultDotGeneralOp,
    Fp8DotGeneralOp,
    Int8DotGeneralOp,
    OverwriteWithGradient,
    QuantizationConfig,
    apply_updates,
    partition_for_grad_overwrite,
    quantize_linear_layers,
)
from haliax.state_dict import (
    from_state_dict,
    from_torch_compatible_state_dict,
    to_state_dict,
    to_torch_compatible_state_dict,
)
from tests.helpers import FP8_STATE_FIELDS

E, H, L = hax.make_axes(E=8, H=16, Layers=3)


class Block(eqx.Module):
    up_proj: hnn.Linear
    down_proj: hnn.Linear

    @staticmethod
    def init(E, H, *, key):
        k1, k2 = jax.random.split(key)
        return Block(hnn.Linear.init(E, H, key=k1, init_scale=0.1), hnn.Linear.init(H, E, key=k2, init_scale=0.1))

    def __call__(self, x):
        return self.down_proj(hnn.relu(self.up_proj(x))) + x


class Model(eqx.Module):
    blocks: hnn.Stacked
    head: hnn.Linear

    @staticmethod
    def init(key):
        k1, k2 = jax.random.split(key)
        blocks = hnn.Stacked.init(L, Block)(E, H, key=jax.random.split(k1, L.size))
        return Model(blocks, hnn.Linear.init(E, H, key=k2, init_scale=0.1))

    def __call__(self, x):
        return self.head(self.blocks.fold(x))


@pytest.fixture(scope="module")
def model():
    return Model.init(jax.random.PRNGKey(0))


def _op_names(tree):
    ops = jax.tree_util.tree_leaves(
        jax.tree_util.tree_map(
            lambda m: type(m.dot_general).__name__, tree, is_leaf=lambda x: isinstance(x, hnn.Linear)
        )
    )
    return ops


# --------------------------------------------------------------------------------------------------
# the protocol


class _State(OverwriteWithGradient):
    value: jax.Array


def test_partition_for_grad_overwrite():
    tree = {"op": _State(jnp.ones(2)), "w": jnp.ones(3), "nested": [_State(jnp.zeros(1)), None]}
    overwrites, rest = partition_for_grad_overwrite(tree)
    assert isinstance(overwrites["op"], _State) and isinstance(overwrites["nested"][0], _State)
    assert overwrites["w"] is None
    assert rest["op"] is None and rest["nested"][0] is None
    np.testing.assert_array_equal(rest["w"], np.ones(3))
    assert eqx.combine(overwrites, rest, is_leaf=lambda x: isinstance(x, OverwriteWithGradient)) is not None


def test_apply_updates_adds_and_overwrites():
    one = jnp.ones(1)
    out = apply_updates({"a": one, "b": one}, {"a": None, "b": one}, {"a": None, "b": None})
    np.testing.assert_array_equal(out["a"], [1.0])
    np.testing.assert_array_equal(out["b"], [2.0])
    out = apply_updates({"a": one}, {"a": one}, {"a": jnp.zeros(1)})
    np.testing.assert_array_equal(out["a"], [0.0])


def test_apply_updates_installs_op_states_and_keeps_none():
    model = {"op": _State(jnp.ones(2)), "w": jnp.ones(2), "bias": None}
    grads = {"op": _State(jnp.full(2, 5.0)), "w": jnp.full(2, 0.5), "bias": None}
    overwrites, rest = partition_for_grad_overwrite(grads)
    out = apply_updates(model, rest, overwrites)
    np.testing.assert_array_equal(out["op"].value, [5.0, 5.0])
    np.testing.assert_array_equal(out["w"], [1.5, 1.5])
    assert out["bias"] is None


def test_apply_updates_accumulates_gradients():
    g1 = {"op": _State(jnp.ones(1)), "w": jnp.ones(2)}
    g2 = {"op": _State(jnp.full(1, 7.0)), "w": jnp.full(2, 3.0)}
    overwrites, rest = partition_for_grad_overwrite(g2)
    acc = apply_updates(g1, rest, overwrites)
    np.testing.assert_array_equal(acc["w"], [4.0, 4.0])
    np.testing.assert_array_equal(acc["op"].value, [7.0])


def test_strip_op_states_from_a_model(model):
    q = quantize_linear_layers(model, QuantizationConfig(fp8=True, amax_history_length=8))
    overwrites, params = partition_for_grad_overwrite(q)
    assert params.head.dot_general is None and params.blocks.stacked.up_proj.dot_general is None
    assert isinstance(overwrites.head.dot_general, Fp8DotGeneralOp)
    assert overwrites.head.weight.array is None


# --------------------------------------------------------------------------------------------------
# QuantizationConfig


def test_config_fields_and_defaults():
    names = [f.name for f in dataclasses.fields(QuantizationConfig)]
    assert names == ["targets", "amax_history_length", "compute_dtype", "fp8", "int8"]
    cfg = QuantizationConfig()
    assert (cfg.targets, cfg.amax_history_length, cfg.compute_dtype, cfg.fp8, cfg.int8) == (
        None,
        1024,
        None,
        False,
        False,
    )
    assert hash(cfg) == hash(QuantizationConfig()) and cfg == QuantizationConfig()
    with pytest.raises(dataclasses.FrozenInstanceError):
        cfg.fp8 = True  # type: ignore[misc]


def test_config_rejects_both_flags():
    with pytest.raises(AssertionError, match="Cannot use FP8 and INT8 quantization at the same time."):
        QuantizationConfig(fp8=True, int8=True)


# --------------------------------------------------------------------------------------------------
# quantize_linear_layers


def test_plain_linear_fp8_and_int8():
    lin = hnn.Linear.init(E, H, key=jax.random.PRNGKey(0))
    q = quantize_linear_layers(lin, QuantizationConfig(fp8=True, amax_history_length=16, compute_dtype=jnp.bfloat16))
    assert isinstance(q.dot_general, Fp8DotGeneralOp)
    assert q.dot_general.input_amax_history.shape == (16,) and q.dot_general.compute_dtype == jnp.bfloat16
    assert q.weight.array is lin.weight.array
    q8 = quantize_linear_layers(q, QuantizationConfig(int8=True))  # an existing (quantised) op is replaced
    assert q8.dot_general == Int8DotGeneralOp.init()
    assert isinstance(lin.dot_general, DefaultDotGeneralOp)  # the input is untouched


def test_no_flag_warns_and_returns_the_tree():
    lin = hnn.Linear.init(E, H, key=jax.random.PRNGKey(0))
    with pytest.warns(UserWarning, match=r"Both fp8 and int8 are set to False. `quantize_linear_layers\(\)` is no-op."):
        assert quantize_linear_layers(lin, QuantizationConfig()) is lin


def test_mlp_targets():
    mlp = hnn.MLP.init(E, E, width=H, depth=2, key=jax.random.PRNGKey(0))
    fp8 = QuantizationConfig(fp8=True, amax_history_length=4)
    assert _op_names(quantize_linear_layers(mlp, fp8)) == ["Fp8DotGeneralOp"] * 3
    only_first = dataclasses.replace(fp8, targets="layers.0")
    assert _op_names(quantize_linear_layers(mlp, only_first)) == ["Fp8DotGeneralOp"] + ["DefaultDotGeneralOp"] * 2
    by_name = dataclasses.replace(fp8, targets=["0", "1"])
    assert _op_names(quantize_linear_layers(mlp, by_name)) == ["Fp8DotGeneralOp"] * 2 + ["DefaultDotGeneralOp"]
    none = dataclasses.replace(fp8, targets=[])
    assert _op_names(quantize_linear_layers(mlp, none)) == ["DefaultDotGeneralOp"] * 3


def test_targets_in_containers_and_anchoring():
    k = jax.random.split(jax.random.PRNGKey(0), 4)
    tree = {
        "head": hnn.Linear.init(E, H, key=k[0]),
        "layers": [hnn.Linear.init(E, H, key=k[1]) for _ in range(2)] + [(hnn.Linear.init(E, H, key=k[2]),)],
        "conv": hnn.Conv.init(hax.Axis("S", 4), E, H, kernel_size=1, key=k[3]),
    }
    cfg = QuantizationConfig(int8=True)

    def names(t):
        return {
            "head": type(t["head"].dot_general).__name__,
            "layers": [type(x.dot_general).__name__ for x in t["layers"][:2]]
            + [type(t["layers"][2][0].dot_general).__name__],
        }

    assert names(quantize_linear_layers(tree, dataclasses.replace(cfg, targets="hea")))["head"] == "Int8DotGeneralOp"
    out = names(quantize_linear_layers(tree, dataclasses.replace(cfg, targets="layers.1")))
    assert out["head"] == "DefaultDotGeneralOp" and out["layers"] == [
        "DefaultDotGeneralOp",
        "Int8DotGeneralOp",
        "DefaultDotGeneralOp",
    ]
    out = names(quantize_linear_layers(tree, dataclasses.replace(cfg, targets=r"layers\.2\.0$")))
    assert out["layers"] == ["DefaultDotGeneralOp", "DefaultDotGeneralOp", "Int8DotGeneralOp"]
    out = names(quantize_linear_layers(tree, dataclasses.replace(cfg, targets="ayers")))  # re.match: anchored
    assert out["layers"] == ["DefaultDotGeneralOp"] * 3
    q = quantize_linear_layers(tree, cfg)
    assert eqx.tree_equal(q["conv"], tree["conv"])  # only Linear is converted


def test_root_linear_path_is_empty():
    lin = hnn.Linear.init(E, H, key=jax.random.PRNGKey(0))
    assert isinstance(
        quantize_linear_layers(lin, QuantizationConfig(int8=True, targets="")).dot_general, Int8DotGeneralOp
    )
    assert isinstance(
        quantize_linear_layers(lin, QuantizationConfig(int8=True, targets=[""])).dot_general, Int8DotGeneralOp
    )
    unchanged = quantize_linear_layers(lin, QuantizationConfig(int8=True, targets="x"))
    assert isinstance(unchanged.dot_general, DefaultDotGeneralOp)


def test_moe_linear_is_not_converted():
    moe = hnn.MoELinear.init(hax.Axis("Experts", 2), E, H, key=jax.random.PRNGKey(0))
    assert eqx.tree_equal(quantize_linear_layers({"moe": moe}, QuantizationConfig(int8=True))["moe"], moe)


@pytest.mark.parametrize(
    ("targets", "error", "match"),
    [
        ("(", ValueError, "quantize_linear_layers: config.targets '\\(' is not a valid regular expression"),
        (3, TypeError, "quantize_linear_layers: config.targets must be None, a regex str or a list of str"),
        ([1], TypeError, "quantize_linear_layers: config.targets must be None"),
    ],
)
def test_bad_targets(targets, error, match):
    lin = hnn.Linear.init(E, H, key=jax.random.PRNGKey(0))
    with pytest.raises(error, match=match):
        quantize_linear_layers(lin, QuantizationConfig(fp8=True, targets=targets))


def test_stacked_paths_include_the_stack_field_and_ops_are_stacked(model):
    q = quantize_linear_layers(model, QuantizationConfig(fp8=True, targets="blocks.stacked.up_proj"))
    op = q.blocks.stacked.up_proj.dot_general
    assert isinstance(op, Fp8DotGeneralOp)
    assert op.input_scale.shape == (3, 1) and op.input_amax_history.shape == (3, 1024)
    assert isinstance(q.blocks.stacked.down_proj.dot_general, DefaultDotGeneralOp)
    assert isinstance(q.head.dot_general, DefaultDotGeneralOp)
    # Haliax matched the path without the Stacked's own field name; here that path matches nothing
    q = quantize_linear_layers(model, QuantizationConfig(fp8=True, targets="stacked.up_proj"))
    assert _op_names(q) == ["DefaultDotGeneralOp"] * 3
    q = quantize_linear_layers(model, QuantizationConfig(fp8=True, targets=".*up"))
    assert _op_names(q) == ["Fp8DotGeneralOp", "DefaultDotGeneralOp", "DefaultDotGeneralOp"]
    q = quantize_linear_layers(model, QuantizationConfig(fp8=True, targets=["down_proj", "head"]))
    assert _op_names(q) == ["DefaultDotGeneralOp", "Fp8DotGeneralOp", "Fp8DotGeneralOp"]
    assert q.head.dot_general.input_scale.shape == (1,)


class InnerStack(eqx.Module):
    stack: hnn.Stacked

    @staticmethod
    def init(E, H, *, key):
        return InnerStack(hnn.Stacked.init(hax.Axis("Inner", 3), Block)(E, H, key=jax.random.split(key, 3)))

    def __call__(self, x):
        return self.stack.fold(x)


@pytest.mark.slow  # integration: a training loop or a torch/transformers interop check
def test_nested_stacked_gets_one_leading_dim_per_stack():
    Outer = hax.Axis("Outer", 2)
    nested = hnn.Stacked.init(Outer, InnerStack)(E, H, key=jax.random.split(jax.random.PRNGKey(0), 2))
    cfg = QuantizationConfig(fp8=True, amax_history_length=4, targets="outer.stacked.stack.stacked.up_proj")
    q = quantize_linear_layers({"outer": nested}, cfg)
    op = q["outer"].stacked.stack.stacked.up_proj.dot_general
    assert op.input_scale.shape == (2, 3, 1) and op.kernel_amax_history.shape == (2, 3, 4)
    assert isinstance(q["outer"].stacked.stack.stacked.down_proj.dot_general, DefaultDotGeneralOp)
    x = hax.random.normal(jax.random.PRNGKey(1), (hax.Axis("B", 4), E))
    out, ref = eqx.filter_jit(lambda a, b, x: (a.fold(x), b.fold(x)))(q["outer"], nested, x)
    np.testing.assert_allclose(out.array, ref.array, atol=2e-2, rtol=5e-2)


@pytest.mark.slow  # integration: a training loop or a torch/transformers interop check
def test_stacked_fp8_training_updates_each_layer(model):
    q = quantize_linear_layers(model, QuantizationConfig(fp8=True, amax_history_length=4))
    x = hax.random.normal(jax.random.PRNGKey(1), (hax.Axis("B", 4), E))

    @eqx.filter_jit
    def run(q, model, x):
        grads = eqx.filter_grad(lambda m: hax.mean(m(x) ** 2).array)(q)
        overwrites, grads = partition_for_grad_overwrite(grads)
        q2 = apply_updates(q, jax.tree_util.tree_map(lambda g: -0.1 * g, grads), overwrites)
        return q(x), model(x), q2, q2(x)

    out, ref, q2, out2 = run(q, model, x)
    np.testing.assert_allclose(out.array, ref.array, atol=2e-2, rtol=5e-2)
    op = q2.blocks.stacked.up_proj.dot_general
    assert op.input_amax_history.shape == (3, 4)
    # layer 0's up_proj sees x itself; every layer recorded a non-zero input and kernel amax
    np.testing.assert_allclose(op.input_amax_history[0, 0], float(hax.max(hax.abs(x)).array), rtol=1e-6)
    assert bool(jnp.all(op.input_amax_history[:, 0] > 0)) and bool(jnp.all(op.kernel_amax_history[:, 0] > 0))
    w0 = q.blocks.stacked.up_proj.weight.array
    np.testing.assert_allclose(op.kernel_amax_history[:, 0], jnp.max(jnp.abs(w0), axis=(1, 2)), rtol=1e-6)
    assert bool(jnp.all(jnp.isfinite(out2.array)))


def test_blockseq_is_walked():
    blocks = hnn.BlockSeq.init(L, Block)(E, H, key=jax.random.split(jax.random.PRNGKey(0), L.size))
    q = quantize_linear_layers({"seq": blocks}, QuantizationConfig(int8=True, targets=r"seq\.blocks\.1\.up"))
    names = [type(b.up_proj.dot_general).__name__ for b in q["seq"].blocks]
    assert names == ["DefaultDotGeneralOp", "Int8DotGeneralOp", "DefaultDotGeneralOp"]


@pytest.mark.slow  # integration: a training loop or a torch/transformers interop check
def test_jit_of_a_quantized_model():
    mlp = hnn.MLP.init(E, E, width=H, depth=1, key=jax.random.PRNGKey(0))
    x = hax.random.normal(jax.random.PRNGKey(1), (hax.Axis("B", 4), E))
    for cfg in (QuantizationConfig(fp8=True, amax_history_length=4), QuantizationConfig(int8=True)):
        q = quantize_linear_layers(mlp, cfg)
        out = eqx.filter_jit(lambda m, x: m(x))(q, x)
        np.testing.assert_allclose(out.array, q(x).array, rtol=1e-5, atol=1e-6)

        @eqx.filter_jit
        def step(m, x):
            grads = eqx.filter_grad(lambda m: hax.mean(m(x) ** 2).array)(m)
            overwrites, grads = partition_for_grad_overwrite(grads)
            return apply_updates(m, jax.tree_util.tree_map(lambda g: -0.1 * g, grads), overwrites)

        assert bool(jnp.all(jnp.isfinite(step(q, x)(x).array)))


# --------------------------------------------------------------------------------------------------
# state dicts


def test_fp8_linear_state_dict_has_the_six_op_keys_and_round_trips():
    lin = hnn.Linear.init(E, H, key=jax.random.PRNGKey(0))
    q = quantize_linear_layers(lin, QuantizationConfig(fp8=True, amax_history_length=4))
    sd = to_state_dict(q, "fc")
    assert list(sd) == ["fc.weight", "fc.bias"] + [f"fc.dot_general.{k}" for k in FP8_STATE_FIELDS]
    sd = {k: v + 1 for k, v in sd.items()}
    back = from_state_dict(q, sd, "fc")
    np.testing.assert_array_equal(back.dot_general.input_scale, [2.0])
    np.testing.assert_array_equal(back.dot_general.kernel_amax_history, np.ones(4))
    np.testing.assert_allclose(back.weight.array, lin.weight.array + 1)
    assert sorted(to_state_dict(lin)) == ["bias", "weight"]  # the default op adds no keys


def test_fp8_multi_axis_linear_torch_compatible_round_trip():
    D1, D2 = hax.make_axes(D1=2, D2=4)
    lin = hnn.Linear.init((D1, D2), H, key=jax.random.PRNGKey(0))
    q = quantize_linear_layers(lin, QuantizationConfig(fp8=True, amax_history_length=4))
    sd = to_torch_compatible_state_dict(q)
    assert sd["weight"].shape == (16, 8)
    assert all(f"dot_general.{k}" in sd for k in FP8_STATE_FIELDS)
    sd["dot_general.output_grad_scale"] = np.array([3.0], np.float32)
    back = from_torch_compatible_state_dict(q, sd)
    np.testing.assert_array_equal(back.dot_general.output_grad_scale, [3.0])
    assert back.In == (D1, D2)


def test_stacked_fp8_state_dict_round_trip(model):
    q = quantize_linear_layers(model, QuantizationConfig(fp8=True, amax_history_length=4, targets=["up_proj"]))
    sd = to_state_dict(q)
    assert sd["blocks.1.up_proj.dot_general.input_scale"].shape == (1,)
    assert "blocks.1.down_proj.dot_general.input_scale" not in sd
    sd["blocks.1.up_proj.dot_general.input_scale"] = np.array([5.0], np.float32)
    back = from_state_dict(q, sd)
    np.testing.assert_array_equal(back.blocks.stacked.up_proj.dot_general.input_scale, [[1.0], [5.0], [1.0]])


def test_int8_linear_state_dict_keeps_only_weight_and_bias():
    lin = hnn.Linear.init(E, H, key=jax.random.PRNGKey(0))
    q = quantize_linear_layers(lin, QuantizationConfig(int8=True))
    with pytest.warns(UserWarning, match="Ignore all int8 states"):
        assert sorted(to_state_dict(q)) == ["bias", "weight"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        assert from_state_dict(q, to_state_dict(lin)).dot_general == Int8DotGeneralOp.init()


# --------------------------------------------------------------------------------------------------
# module hygiene


@pytest.mark.parametrize(
    "name",
    [
        "haliax._quantization_overwrite",
        "haliax._quantization_fp8",
        "haliax._quantization_int8",
        "haliax._quantization_config",
    ],
)
def test_doctests_of_the_implementation_modules(name):
    # the public names live in these private modules; test_doctests only walks public ones
    mod = importlib.import_module(name)
    result = doctest.testmod(mod, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0 and result.failed == 0


def test_public_names_and_no_optional_dependency():
    import haliax.quantization as q

    for name in q.__all__:
        assert getattr(q, name) is not None
    code = "import sys, haliax.quantization; assert 'aqt' not in sys.modules and 'flax' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True, env={"JAX_PLATFORMS": "cpu", "PATH": ""})
