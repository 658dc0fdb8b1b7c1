"""The core API as a new user gets it wrong: each mistake raises ValueError/TypeError naming the function, the
argument, the axes and (for a typo) the closest name; never a raw JAX, KeyError or AttributeError."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import haliax as hax
from haliax.axis import AxisSizeMismatchError

X, Y, Z = hax.make_axes(X=2, Y=3, Z=4)


@pytest.fixture
def x():
    return hax.ones((X, Y))


@pytest.fixture
def y():
    return hax.ones((Y, Z))


# --------------------------------------------------------------------------------------------------
# dot


def test_dot_axis_typo_suggests(x, y):
    with pytest.raises(
        ValueError,
        match=r"dot: Axis y not present in axis spec of any argument: .*\(argument 'axis'\)\. "
        r"Did you mean 'Y'\?",
    ):
        hax.dot(x, y, axis="y")


def test_dot_unknown_axis_no_suggestion(x, y):
    with pytest.raises(ValueError, match=r"dot: Axis Q not present in axis spec of any argument: .*'axis'\)$"):
        hax.dot(x, y, axis="Q")


def test_dot_multiple_sizes_names_operands(x):
    with pytest.raises(
        ValueError,
        match=r"dot: Axis Y has multiple sizes: 3 and 5 \(arrays\[0\] has Y\(3\), arrays\[1\] "
        r"has Y\(5\); operand axes \(X\(2\), Y\(3\)\), \(Y\(5\)\)\)",
    ):
        hax.dot(x, hax.ones(Y.resize(5)), axis="Y")


def test_dot_axis_of_wrong_size(x, y):
    with pytest.raises(
        AxisSizeMismatchError,
        match=r"dot: argument 'axis': Found axis with same name but different "
        r"size: asked for Y\(7\), the array has Y\(3\)",
    ):
        hax.dot(x, y, axis=Y.resize(7))


def test_dot_axis_of_wrong_type(x, y):
    with pytest.raises(TypeError, match=r"dot: argument 'axis': expected axis names or Axis objects, got 1"):
        hax.dot(x, y, axis=1)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"dot: argument 'axis': expected axis names or Axis objects, got 0"):
        hax.dot(x, y, axis=("Y", 0))  # type: ignore[arg-type]


def test_dot_out_axes_typo(x, y):
    with pytest.raises(
        ValueError,
        match=r"dot: argument 'out_axes': The following axes are not present in output: "
        r"\['z'\]\. Axes present: \('X\(2\)', 'Z\(4\)'\)\. Did you mean 'Z'\?",
    ):
        hax.dot(x, y, axis="Y", out_axes=("z", ...))


def test_dot_plain_array_operand(x):
    with pytest.raises(TypeError, match=r"dot: argument arrays\[1\] must be a NamedArray, got ArrayImpl"):
        hax.dot(x, jnp.ones((3, 4)), axis="Y")


def test_dot_missing_axis_keyword(x, y):
    with pytest.raises(ValueError, match=r"Must provide an axis to dot"):
        hax.dot(x, y)


# --------------------------------------------------------------------------------------------------
# eliminate_axes


def test_eliminate_axes_typo_suggests():
    with pytest.raises(
        ValueError,
        match=r"eliminate_axes: argument 'to_remove': Axis x not present in axis spec .*"
        r"Did you mean 'X'\?",
    ):
        hax.eliminate_axes((X, Y), "x")


def test_eliminate_axes_unknown_no_suggestion():
    with pytest.raises(
        ValueError,
        match=r"eliminate_axes: argument 'to_remove': Axis Q not present in axis spec "
        r"\(Axis\(name='X', size=2\), Axis\(name='Y', size=3\)\)$",
    ):
        hax.eliminate_axes((X, Y), "Q")


def test_eliminate_axes_shape_dict_typo():
    with pytest.raises(ValueError, match=r"Axis Yy not present in axis spec \{'X': 2, 'Y': 3\}\. Did you mean 'Y'\?"):
        hax.eliminate_axes({"X": 2, "Y": 3}, "Yy")


def test_eliminate_axes_wrong_size():
    with pytest.raises(AxisSizeMismatchError, match=r"eliminate_axes: argument 'to_remove': .*asked for X\(5\)"):
        hax.eliminate_axes((X, Y), X.resize(5))


# --------------------------------------------------------------------------------------------------
# elementwise and broadcasting


def test_unary_on_a_string():
    with pytest.raises(
        TypeError,
        match=r"exp: argument 'a' must be a NamedArray, an array or a number, got 'a' of "
        "type str",
    ):
        hax.exp("a")


def test_unary_on_a_list():
    with pytest.raises(
        TypeError,
        match=r"sqrt: argument 'a' must be .* got \[1, 2\] of type list \(convert it with "
        r"jnp\.asarray",
    ):
        hax.sqrt([1, 2])


def test_binary_with_a_string(x):
    with pytest.raises(TypeError, match=r"add: argument 'b' must be a NamedArray, an array or a number, got 's'"):
        x + "s"
    with pytest.raises(TypeError, match=r"multiply: argument 'a' must be .* got None of type NoneType"):
        hax.multiply(None, x)


def test_binary_with_a_list(x):
    with pytest.raises(TypeError, match=r"add: argument 'b' .* got \[1, 2, 3\] of type list"):
        hax.add(x, [1, 2, 3])


def test_binary_with_a_plain_array(x):
    with pytest.raises(
        ValueError,
        match=r"subtract: Cannot apply subtract to a NamedArray and a non-scalar array of "
        r"shape \(3,\); wrap it with hax\.named",
    ):
        x - jnp.ones(3)


def test_binary_conflicting_sizes(x):
    with pytest.raises(
        ValueError,
        match=r"maximum: Cannot broadcast .* axis X has conflicting sizes: 2 \(first "
        r"operand\), 5 \(second operand\)",
    ):
        hax.maximum(x, hax.ones(X.resize(5)))


def test_binary_plain_operands_still_work():
    assert hax.add(1, 2) == 3
    np.testing.assert_array_equal(hax.add(np.ones(2), jnp.ones(2)), np.full(2, 2.0))
    assert float(hax.exp(0.0)) == 1.0


def test_clip_bound_conflict_names_clip_and_bound(x):
    with pytest.raises(ValueError, match=r"^clip: argument 'a_min': Cannot broadcast .*Y has conflicting sizes"):
        hax.clip(x, hax.zeros(Y.resize(4)), 1.0)
    with pytest.raises(ValueError, match=r"^clip: argument 'a_max': Cannot broadcast"):
        hax.clip(x, None, hax.zeros(Y.resize(4)))


def test_clip_plain_array_bound(x):
    with pytest.raises(
        ValueError,
        match=r"^clip: argument 'a_min': Cannot apply clip to a NamedArray and a non-scalar "
        r"array of shape \(3,\)",
    ):
        hax.clip(x, jnp.zeros(3), 1.0)


def test_clip_wrong_kinds(x):
    with pytest.raises(TypeError, match=r"^clip: argument 'array' must be .* got \[1, 2\] of type list"):
        hax.clip([1, 2], 0, 1)
    with pytest.raises(TypeError, match=r"^clip: argument 'a_max' must be .* got 'high' of type str"):
        hax.clip(x, 0, "high")


def test_clip_wrong_size_axis_bound_is_size_error(x):
    with pytest.raises(ValueError, match=r"^clip: argument 'a_min': "):
        hax.clip(x, hax.zeros(X.resize(3)), None)


def test_broadcast_to_wrong_size(x):
    with pytest.raises(
        AxisSizeMismatchError,
        match=r"broadcast_to: argument 'axes': Found axis with same name but "
        r"different size: asked for X\(3\), the array has X\(2\)",
    ):
        hax.broadcast_to(x, (X.resize(3), Y))


def test_broadcast_to_missing_axis(x):
    with pytest.raises(ValueError, match=r"broadcast_to: Cannot broadcast array with axes .* extra axes present"):
        hax.broadcast_to(x, (X, Z))


def test_broadcast_axis_needs_sizes(x):
    with pytest.raises(TypeError, match=r"broadcast_axis: argument 'axis': expected Axis objects \(sizes are needed\)"):
        hax.broadcast_axis(x, "Q")


# --------------------------------------------------------------------------------------------------
# concatenate / stack / split


def test_concatenate_a_single_array(x):
    with pytest.raises(
        TypeError,
        match=r"concatenate: argument 'arrays' must be a sequence of NamedArrays, got a "
        r"NamedArray with axes \(X\(2\), Y\(3\)\); pass a list",
    ):
        hax.concatenate("X", x)


def test_concatenate_typo(x):
    with pytest.raises(ValueError, match=r"concatenate: argument 'arrays\[0\]': axis x not found .*Did you mean 'X'\?"):
        hax.concatenate("x", [x, x])


def test_concatenate_other_axes(x):
    with pytest.raises(
        ValueError,
        match=r"concatenate: arrays\[1\] has axes \(X\(2\), Z\(4\)\), which differ from "
        r"arrays\[0\]'s \(X\(2\), Y\(3\)\)",
    ):
        hax.concatenate("X", [x, hax.ones((X, Z))])


def test_concatenate_empty_and_wrong_axis_kind(x):
    with pytest.raises(ValueError, match=r"concatenate: argument 'arrays' is empty"):
        hax.concatenate("X", [])
    with pytest.raises(TypeError, match=r"concatenate: argument 'axis' must be an axis name or an Axis, got 0"):
        hax.concatenate(0, [x, x])  # type: ignore[arg-type]


def test_stack_a_single_array(x):
    with pytest.raises(
        TypeError, match=r"stack: argument 'arrays' must be a sequence of NamedArrays, got a NamedArray"
    ):
        hax.stack("S", x)


def test_stack_mismatched_arrays(x, y):
    with pytest.raises(ValueError, match=r"stack: arrays\[1\] has axes \(Y\(3\), Z\(4\)\), which differ"):
        hax.stack("S", [x, y])


def test_split_with_an_int(x):
    with pytest.raises(
        TypeError,
        match=r"split: argument 'new_axes' must be a sequence of Axis objects whose sizes add "
        r"up to Y\(3\), got 3",
    ):
        hax.split(x, "Y", 3)  # type: ignore[arg-type]


def test_split_with_an_axis(x):
    with pytest.raises(TypeError, match=r"split: argument 'new_axes' must be a sequence of Axis objects"):
        hax.split(x, "Y", Y)  # type: ignore[arg-type]


def test_split_sizes_do_not_add_up(x):
    with pytest.raises(
        ValueError,
        match=r"split: the sizes of new_axes \['Y\(1\)', 'Y\(1\)'\] add up to 2, but axis "
        r"Y\(3\)",
    ):
        hax.split(x, "Y", [Y.resize(1), Y.resize(1)])


def test_split_typo(x):
    with pytest.raises(ValueError, match=r"split: argument 'axis': axis y not found .*Did you mean 'Y'\?"):
        hax.split(x, "y", [Y.resize(1), Y.resize(2)])


# --------------------------------------------------------------------------------------------------
# dslice


def test_dslice_float_start():
    with pytest.raises(TypeError, match=r"dslice: argument 'start' must be an integer .* got 0\.5 of type float"):
        hax.dslice(0.5, 2)


def test_dslice_float_array_start():
    with pytest.raises(TypeError, match=r"dslice: argument 'start' must be an integer"):
        hax.ds(jnp.array(1.0), 2)


def test_dslice_float_length():
    with pytest.raises(TypeError, match=r"dslice: argument 'length' must be an int or an Axis .* got 2\.5"):
        hax.dslice(0, 2.5)  # type: ignore[arg-type]


def test_dslice_negative_length():
    with pytest.raises(ValueError, match=r"dslice: argument 'length' must be >= 0, got -1"):
        hax.dslice(0, -1)


def test_dslice_traced_length():
    with pytest.raises(TypeError, match=r"dslice: argument 'length' must be a static int"):
        jax.jit(lambda n: hax.dslice(0, n))(2)


def test_dslice_valid_starts():
    i = np.int32(1)
    assert hax.dslice(i, np.int64(2)).size == 2
    out = jax.jit(lambda i: hax.arange(hax.Axis("X", 5))["X", hax.ds(i, 2)].array)(jnp.int32(1))
    assert out.tolist() == [1, 2]


def test_dslice_index_typo(x):
    with pytest.raises(ValueError, match=r"argument 'index': axis y not found .*Did you mean 'Y'\?"):
        x["y", hax.dslice(0, 2)]


# --------------------------------------------------------------------------------------------------
# einsum, where, tree_util and other core functions


def test_einsum_unbound_output(x, y):
    with pytest.raises(ValueError, match=r"einsum: Identifier q on the rhs is not bound on the lhs"):
        hax.einsum("x y, y z -> x q", x, y)


def test_einsum_sizes(x):
    with pytest.raises(ValueError, match=r"einsum: axis Y has conflicting sizes: 3 \(arrays\[0\]\), 5 \(arrays\[1\]\)"):
        hax.einsum("X Y, Y Z -> X Z", x, hax.ones((Y.resize(5), Z)))


def test_where_plain_condition(x):
    with pytest.raises(ValueError, match=r"where: cannot combine NamedArrays with non-scalar plain arrays"):
        hax.where(jnp.ones((2, 3), bool), x, x)


def test_resize_axis_typo_suggests(x):
    with pytest.raises(
        ValueError,
        match=r"resize_axis: argument 'axis': axis x not found in \(X\(2\), Y\(3\)\)\. Did "
        r"you mean 'X'\?",
    ):
        hax.tree_util.resize_axis({"a": x}, "x", 4)


def test_resize_axis_absent_axis_is_a_no_op(x):
    out = hax.tree_util.resize_axis({"a": x}, "Vocab", 4)
    assert out["a"].axes == (X, Y)


def test_sum_with_an_int_axis(x):
    with pytest.raises(TypeError, match=r"sum: argument 'axis': expected axis names or Axis objects, got 0"):
        x.sum(0)


def test_rename_typo(x):
    with pytest.raises(ValueError, match=r"rename: argument 'renames': axis x not found .*Did you mean 'X'\?"):
        x.rename({"x": "W"})


def test_take_float_index(x):
    with pytest.raises(ValueError, match=r"take: Index must be an integer array, got dtype float32"):
        hax.take(x, "Y", hax.named(jnp.array([0.5]), "Q"))


def test_trace_typo(x):
    with pytest.raises(ValueError, match=r"trace: argument 'axis': axis x not found .*Did you mean 'X'\?"):
        hax.trace(x, "x", "Y")


def test_top_k_too_large(x):
    with pytest.raises(ValueError, match=r"top_k: k=5 must be between 0 and the size of axis Y\(3\)"):
        hax.top_k(x, "Y", 5)


def test_cumsum_typo(x):
    with pytest.raises(ValueError, match=r"cumsum: argument 'axis': axis y not found .*Did you mean 'Y'\?"):
        hax.cumsum(x, "y")


# --------------------------------------------------------------------------------------------------
# second round: dtype, ddof, where=, k, shift, unroll, check_shape


def test_astype_bad_dtype(x):
    with pytest.raises(TypeError, match=r"astype: argument 'dtype': data type 'floaty' not understood"):
        x.astype("floaty")


def test_astype_axis_as_dtype(x):
    with pytest.raises(TypeError, match=r"astype: argument 'dtype': .* got Axis\(name='X', size=2\)"):
        x.astype(X)


def test_reduction_bad_dtype(x):
    with pytest.raises(TypeError, match=r"mean: argument 'dtype': data type 'floaty' not understood"):
        hax.mean(x, dtype="floaty")


def test_reduction_bad_ddof(x):
    with pytest.raises(TypeError, match=r"std: argument 'ddof' must be an int, got 'a' of type str"):
        hax.std(x, "X", ddof="a")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"var: argument 'ddof' must be an int, got 1\.5"):
        hax.var(x, "X", ddof=1.5)  # type: ignore[arg-type]


def test_reduction_where_wrong_size(x):
    with pytest.raises(
        AxisSizeMismatchError,
        match=r"^sum: argument 'where' has axes \(Y\(5\)\), which do not "
        r"broadcast to the array's \(X\(2\), Y\(3\)\)",
    ):
        hax.sum(x, where=hax.ones(Y.resize(5), dtype=bool))


def test_reduction_where_extra_axis(x):
    with pytest.raises(ValueError, match=r"^mean: argument 'where' has axes \(Z\(4\)\), which do not broadcast"):
        hax.mean(x, where=hax.ones(Z, dtype=bool))


def test_argmax_int_axis(x):
    with pytest.raises(TypeError, match=r"argmax: argument 'axis': expected axis names or Axis objects, got 0"):
        hax.argmax(x, 0)  # type: ignore[arg-type]


def test_top_k_float_k(x):
    with pytest.raises(TypeError, match=r"top_k: argument 'k' must be an int, got 1\.5 of type float"):
        hax.top_k(x, "Y", 1.5)  # type: ignore[arg-type]


def test_roll_float_shift(x):
    with pytest.raises(TypeError, match=r"roll: argument 'shift' must be an int \(or integer array\), got 1\.5"):
        hax.roll(x, 1.5, "X")
    with pytest.raises(TypeError, match=r"roll: argument 'shift' must be an int"):
        hax.roll(x, (1, 0.5), ("X", "Y"))


def test_roll_integer_shifts_still_work(x):
    assert hax.roll(hax.arange(X), np.int32(1), "X").tolist() == [1, 0]
    assert hax.roll(hax.arange(X), jnp.array(1), "X").tolist() == [1, 0]


def test_unflatten_axis_name_for_new_axes(x):
    with pytest.raises(
        TypeError,
        match=r"unflatten_axis: argument 'new_axes': Expected an Axis or a sequence of Axis, "
        r"got the name 'Y' \(a size is needed\)",
    ):
        hax.unflatten_axis(x, "Y", "Y")  # type: ignore[arg-type]


def test_allclose_names_itself(x):
    with pytest.raises(
        ValueError, match=r"^allclose: Cannot broadcast .*Y has conflicting sizes: 3 \(first operand\), 5"
    ):
        hax.allclose(x, hax.ones(Y.resize(5)))


def test_scan_bad_unroll(x):
    with pytest.raises(TypeError, match=r"scan: argument 'unroll' must be a non-negative int or a bool, got 'a'"):
        hax.scan(lambda c, v: (c, v), "X", unroll="a")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"fold: argument 'unroll' must be a non-negative int or a bool, got -1"):
        hax.fold(lambda c, v: c, "X", unroll=-1)


def test_check_shape_given_an_array(x):
    with pytest.raises(
        TypeError,
        match=r"check_shape: argument 'jnp_shape' must be a shape \(a sequence of ints\), got a "
        r"NamedArray with axes \(X\(2\), Y\(3\)\); pass an array's `\.shape`",
    ):
        hax.check_shape(x, (X, Y))  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"check_shape: argument 'jnp_shape' must be a shape"):
        hax.check_shape(jnp.ones((2, 3)), (X, Y))  # type: ignore[arg-type]


def test_check_shape_mismatch():
    with pytest.raises(ValueError, match=r"check_shape: Shape mismatch: jnp_shape=\(2, 3\)"):
        hax.check_shape((2, 3), (X, Z))


def test_where_string_condition(x):
    with pytest.raises(
        TypeError,
        match=r"where: argument 'condition' must be a NamedArray, an array or a number, got "
        "'a'",
    ):
        hax.where("a", x, x)


def test_where_list_branch(x):
    with pytest.raises(TypeError, match=r"where: argument 'y' must be .* got \[0, 1\] of type list"):
        hax.where(x > 0, x, [0, 1])


def test_updated_slice_float_start(x):
    with pytest.raises(
        TypeError,
        match=r"updated_slice: argument 'start': the start for axis Y must be an integer, got "
        r"0\.5",
    ):
        hax.updated_slice(x, {"Y": 0.5}, hax.ones((X, Y)))


def test_updated_slice_traced_int_start_still_works():
    x = hax.zeros(Z, dtype=int)
    out = jax.jit(lambda s: hax.updated_slice(x, {"Z": s}, hax.ones(Z.resize(2), dtype=int)))(jnp.int32(1))
    assert out.tolist() == [0, 1, 1, 0]


# --------------------------------------------------------------------------------------------------
# third round: dtypes and options passed through to JAX, top_k's new axis, plain leaves in a pytree


def test_dot_bad_preferred_element_type(x, y):
    with pytest.raises(TypeError, match=r"dot: argument 'preferred_element_type': data type 'floaty' not understood"):
        hax.dot(x, y, axis="Y", preferred_element_type="floaty")


def test_dot_three_operands_multiple_sizes(x, y):
    with pytest.raises(
        ValueError,
        match=r"dot: Axis Z has multiple sizes: 4 and 9 \(arrays\[1\] has Z\(4\), arrays\[2\] "
        r"has Z\(9\)",
    ):
        hax.dot(x, y, hax.ones(Z.resize(9)), axis="Y")


def test_trace_float_offset():
    with pytest.raises(TypeError, match=r"trace: argument 'offset' must be an int, got 0\.5 of type float"):
        hax.trace(hax.ones((X, X.alias("X2"))), "X", "X2", offset=0.5)  # type: ignore[arg-type]


def test_isclose_bad_tolerance(x):
    with pytest.raises(TypeError, match=r"isclose: argument 'rtol' must be .* got 'a' of type str"):
        hax.isclose(x, x, rtol="a")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"allclose: argument 'atol' must be .* got None"):
        hax.allclose(x, x, atol=None)  # type: ignore[arg-type]


def test_cumulative_bad_dtype(x):
    with pytest.raises(TypeError, match=r"cumprod: argument 'dtype': data type 'floaty' not understood"):
        hax.cumprod(x, "X", dtype="floaty")


def test_reduction_plain_leaf_named_axis(x):
    with pytest.raises(
        TypeError,
        match=r"mean: argument 'axis': a plain \(unnamed\) array of shape \(3,\) in the input "
        r"cannot be reduced over the named axis 'X'; name it with hax\.named",
    ):
        hax.mean({"a": x, "b": jnp.ones(3)}, "X")


def test_top_k_new_axis_clashes(x):
    with pytest.raises(
        ValueError,
        match=r"top_k: argument 'new_axis': X is already another axis of the array "
        r"\(X\(2\), Y\(3\)\); choose a new name",
    ):
        hax.top_k(x, "Y", 2, new_axis="X")


def test_top_k_new_axis_wrong_kind(x):
    with pytest.raises(TypeError, match=r"top_k: argument 'new_axis' must be an axis name or an Axis, got 3"):
        hax.top_k(x, "Y", 2, new_axis=3)  # type: ignore[arg-type]


def test_vmap_specs_of_wrong_kind():
    with pytest.raises(
        TypeError,
        match=r"vmap: argument 'kwargs' must be a mapping from keyword names to specs, got "
        r"\[0\]",
    ):
        hax.vmap(lambda a: a, X, kwargs=[0])  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"vmap: argument 'args' must be a sequence of specs .* got 0"):
        hax.vmap(lambda a: a, X, args=0)  # type: ignore[arg-type]


def test_vmap_spec_gives_a_float():
    with pytest.raises(TypeError, match=r"vmap: spec for a gave 3\.5, expected an int or None"):
        hax.vmap(lambda a: a, X, default=3.5)(jnp.ones(2))


# --------------------------------------------------------------------------------------------------
# fourth round: methods and the small elementwise helpers


def test_resolve_axis_and_axis_size_wrong_kind(x):
    with pytest.raises(
        TypeError,
        match=r"NamedArray\.resolve_axis: argument 'sel': expected axis names or Axis objects, "
        "got 3",
    ):
        x.resolve_axis(3)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"NamedArray\.axis_size: argument 'sel': expected axis names or Axis objects"):
        x.axis_size(3)  # type: ignore[arg-type]


def test_scalar_of_non_scalar(x):
    with pytest.raises(
        ValueError,
        match=r"scalar: Expected scalar, got 2-dimensional array with axes \('X\(2\)', "
        r"'Y\(3\)'\); reduce it first",
    ):
        x.scalar()


def test_reduction_non_boolean_where(x):
    with pytest.raises(ValueError, match=r"sum: argument 'where' must be a boolean NamedArray, got dtype float32"):
        x.sum(where=x)


def test_round_bad_decimals(x):
    with pytest.raises(TypeError, match=r"round: argument 'decimals' must be an int, got 1\.5 of type float"):
        hax.round(x, decimals=1.5)  # type: ignore[arg-type]


def test_frexp_of_a_string():
    with pytest.raises(TypeError, match=r"frexp: argument 'a' must be a NamedArray, an array or a number, got 'a'"):
        hax.frexp("a")


def test_divmod_names_itself(x):
    with pytest.raises(
        ValueError, match=r"^divmod: Cannot broadcast .*Y has conflicting sizes: 3 \(first operand\), 4"
    ):
        hax.divmod(x, hax.ones(Y.resize(4)))


def test_array_equal_with_a_non_named(x):
    with pytest.raises(TypeError, match=r"array_equal: argument 'b' must be a NamedArray, got str"):
        hax.array_equal(x, "a")  # type: ignore[arg-type]


def test_array_equiv_with_a_string(x):
    with pytest.raises(TypeError, match=r"array_equiv: argument 'b' must be a NamedArray, an array or a number"):
        hax.array_equiv(x, "a")  # type: ignore[arg-type]
    assert hax.array_equiv(x, hax.ones(Y)) and not hax.array_equiv(x, hax.ones(Y.resize(4)))


def test_comparison_with_none(x):
    with pytest.raises(TypeError, match=r"less: argument 'b' must be a NamedArray, an array or a number, got None"):
        x < None  # noqa: B015


def test_einsum_bad_preferred_element_type(x):
    with pytest.raises(
        TypeError, match=r"einsum: argument 'preferred_element_type': data type 'floaty' not understood"
    ):
        hax.einsum("X Y -> X", x, preferred_element_type="floaty")


def test_einsum_output_typo_suggests(x, y):
    with pytest.raises(ValueError, match=r"einsum: Axis Zz not present: .*Did you mean 'Z'\?"):
        hax.einsum("-> Zz", x, y)
