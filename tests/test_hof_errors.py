"""Bad input to vmap / scan / fold / map: every error names the function, the argument (or carry path) and the axes."""

import equinox as eqx
import jax
import jax.numpy as jnp
import pytest

import haliax as hax

B, T, E, H = hax.make_axes(B=3, T=4, E=2, H=5)


class _Carry(eqx.Module):
    w: hax.NamedArray
    n: jax.Array


# --------------------------------------------------------------------------------------------------
# the carry changes its axes, dtype, shape or structure


def test_fold_carry_changes_axes():
    def step(c, x):
        return c.broadcast_axis(H)

    with pytest.raises(
        TypeError,
        match=r"fold: the function 'step' changed the axes of carry: \(E\(2\)\) before the "
        r"step, \(H\(5\), E\(2\)\) after",
    ) as e:
        hax.fold(step, T)(hax.zeros(E), hax.ones((T, E)))
    assert "init" in str(e.value)


def test_scan_carry_changes_axes():
    with pytest.raises(TypeError, match=r"scan: the function '<lambda>' changed the axes of carry: \(E\(2\)\) before"):
        hax.scan(lambda c, x: (hax.ones(H), x), T)(hax.zeros(E), hax.ones((T, E)))


def test_fold_carry_reordered_axes_suggests_rearrange():
    E2 = hax.Axis("F", 3)
    with pytest.raises(
        TypeError,
        match=r"carry: \(E\(2\), F\(3\)\) before the step, \(F\(3\), E\(2\)\) after.*"
        r"hax\.rearrange\(\.\.\., \('E', 'F'\)\)",
    ):
        hax.fold(lambda c, x: c.rearrange(("F", "E")), T)(hax.zeros((E, E2)), hax.ones(T))


def test_fold_carry_changes_dtype():
    def step(c, x):
        return (c + x).astype(jnp.int32)

    with pytest.raises(
        TypeError,
        match=r"fold: the function 'step' changed the dtype of carry: float32 before the "
        r"step, int32 after.*astype\(float32\)",
    ):
        hax.fold(step, T)(hax.zeros(E), hax.ones((T, E)))


def test_scan_carry_dtype_in_module_path():
    def step(c, x):
        return _Carry(c.w.astype(jnp.bfloat16), c.n), x

    with pytest.raises(TypeError, match=r"scan: the function 'step' changed the dtype of carry\.w: float32 before"):
        hax.scan(step, T)(_Carry(hax.zeros(E), jnp.zeros(())), hax.ones((T, E)))


def test_fold_carry_dict_path_axes():
    with pytest.raises(TypeError, match=r"fold: .* changed the axes of carry\['a'\]"):
        hax.fold(lambda c, x: {"a": c["a"].broadcast_axis(H)}, T)({"a": hax.zeros(E)}, hax.ones(T))


def test_fold_plain_carry_changes_shape():
    with pytest.raises(
        TypeError, match=r"fold: .* changed the shape of carry\[1\]: \(2,\) before the step, \(3,\) after"
    ):
        hax.fold(lambda c, x: (c[0], jnp.zeros(3)), T)((jnp.zeros(()), jnp.zeros(2)), hax.ones(T))


def test_fold_carry_changes_structure():
    with pytest.raises(
        TypeError,
        match=r"scan: .* changed the structure of the carry: \(E\(2\)\) float32 before the "
        r"step, \(\(E\(2\)\) float32, \(E\(2\)\) float32\) after",
    ):
        hax.scan(lambda c, x: ((c, c), x), T)(hax.zeros(E), hax.ones((T, E)))


def test_fold_plain_carry_becomes_named():
    with pytest.raises(TypeError, match=r"fold: .* changed carry from float32\[\] to \(\) float32.*NamedArray `init`"):
        hax.fold(lambda c, x: c + x, T)(jnp.zeros(()), hax.ones(T))


def test_fold_named_carry_becomes_plain():
    with pytest.raises(
        TypeError,
        match=r"fold: .* changed carry from \(E\(2\)\) float32 to float32\[2\].*return a "
        "NamedArray",
    ):
        hax.fold(lambda c, x: c.array, T)(hax.zeros(E), hax.ones(T))


def test_carry_check_under_jit():
    f = jax.jit(lambda c, xs: hax.fold(lambda c, x: (c + x).astype(jnp.float16), T)(c, xs))
    with pytest.raises(TypeError, match="fold: .* changed the dtype of carry: float32 before the step, float16 after"):
        f(hax.zeros(E), hax.ones((T, E)))


def test_weakly_typed_init_may_be_promoted():
    # as in jax.lax.scan, a Python scalar init takes the dtype the step returns
    assert float(hax.fold(lambda c, x: c + x.array * 1.5, T)(0, hax.ones(T))) == 6.0
    c = hax.fold(lambda c, x: c + x, T)(hax.zeros(E), hax.ones((T, E)))
    assert c.axes == (E,) and c.tolist() == [4.0, 4.0]


# --------------------------------------------------------------------------------------------------
# misspelt axes: "Did you mean"


def test_vmap_name_only_typo_suggests_axis():
    with pytest.raises(
        ValueError,
        match=r"vmap: argument 'axis': axis b not found in \(B\(3\), E\(2\)\)\. "
        r"Did you mean 'B'\? \(axis 'b' was given by name only",
    ):
        hax.vmap(lambda v: v, "b")(hax.ones((B, E)))


def test_vmap_name_only_unknown_lists_axes():
    with pytest.raises(
        ValueError,
        match=r"vmap: argument 'axis': axis 'Q' was given by name only, but no argument is mapped over it; "
        r"pass an Axis with a size \(the arguments have axes \(B\(3\), E\(2\)\)\)",
    ):
        hax.vmap(lambda v: v, "Q")(hax.ones((B, E)))


def test_vmap_several_axes_typo():
    with pytest.raises(ValueError, match=r"vmap: argument 'axis': axis Bb not found .*Did you mean 'B'\?"):
        hax.vmap(lambda v: v, ("Bb", "E"))(hax.ones((B, E)))


def test_scan_name_only_typo_suggests_axis():
    with pytest.raises(
        ValueError,
        match=r"scan: argument 'axis': axis t not found in \(T\(4\), E\(2\)\)\. "
        r"Did you mean 'T'\? \(axis 't' was given by name only, but no input is scanned over it",
    ):
        hax.scan(lambda c, x: (c, x), "t")(0.0, hax.ones((T, E)))


def test_fold_name_only_typo_suggests_axis():
    with pytest.raises(ValueError, match=r"fold: argument 'axis': axis Tt not found .*Did you mean 'T'\?"):
        hax.fold(lambda c, x: c, "Tt")(0.0, hax.ones((T, E)))


def test_scan_axis_of_wrong_kind():
    with pytest.raises(TypeError, match=r"scan: argument 'axis': expected an axis name or an Axis, got 3 of type int"):
        hax.scan(lambda c, x: (c, x), 3)  # type: ignore[arg-type]


def test_vmap_axis_of_wrong_kind():
    with pytest.raises(TypeError, match=r"vmap: argument 'axis': expected an Axis, an axis name, or several"):
        hax.vmap(lambda v: v, 3)  # type: ignore[arg-type]


# --------------------------------------------------------------------------------------------------
# map names itself and the argument


def test_map_name_only_typo():
    with pytest.raises(
        ValueError,
        match=r"map: argument 'axis': axis t not found .*Did you mean 'T'\?.*no input is "
        "mapped over it",
    ):
        hax.map(lambda x: x, "t")(hax.ones((T, E)))


def test_map_unknown_axis():
    with pytest.raises(ValueError, match=r"^map: argument 'axis': axis 'Q' was given by name only"):
        hax.map(lambda x: x, "Q")(hax.ones((T, E)))


def test_map_length_mismatch_names_argument():
    def f(a, b):
        return a

    with pytest.raises(
        ValueError,
        match=r"map: argument 'b': scan got `length` argument of 4 but some inputs had "
        "different leading axis sizes: b has leading dimension 3",
    ):
        hax.map(f, "T")(hax.ones(T), hax.ones(T.resize(3)))


def test_fold_length_mismatch_names_argument():
    with pytest.raises(ValueError, match=r"fold: argument 'y': scan got `length` argument of 4"):
        hax.fold(lambda c, x, y: c, "T")(0.0, hax.ones(T), hax.ones(T.resize(3)))


def test_map_not_callable():
    with pytest.raises(TypeError, match=r"map: argument 'fn' must be a function, got 3 of type int"):
        hax.map(3, T)  # type: ignore[arg-type]


def test_scan_fold_vmap_not_callable():
    with pytest.raises(TypeError, match=r"scan: argument 'f' must be a function, got 'x'"):
        hax.scan("x", T)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"fold: argument 'fn' must be a function, got None"):
        hax.fold(None, T)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"vmap: argument 'fn' must be a function"):
        hax.vmap(1.0, B)  # type: ignore[arg-type]


def test_map_bad_is_mapped():
    with pytest.raises(TypeError, match=r"map: argument 'is_mapped' must be a bool or a predicate, got 'yes'"):
        hax.map(lambda x: x, T, is_mapped="yes")


def test_fold_bad_is_scanned():
    with pytest.raises(TypeError, match=r"fold: argument 'is_scanned' must be a bool or a predicate, got 1"):
        hax.fold(lambda c, x: c, T, is_scanned=1)


def test_scan_axis_size_conflict_with_axis():
    with pytest.raises(ValueError, match=r"scan got `length` argument of 4 but .*x has leading dimension 3"):
        hax.scan(lambda c, x: (c, x), T)(0.0, hax.ones(T.resize(3)))


def test_scan_step_not_returning_a_pair_suggests_fold():
    def step(c, x):
        return c + x

    with pytest.raises(
        ValueError,
        match=r"scan: the scanned function 'step' must return a pair \(new_carry, output\), "
        r"got NamedArray; use hax\.fold",
    ):
        hax.scan(step, T)(hax.zeros(E), hax.ones((T, E)))


def test_scan_axis_present_but_excluded_by_is_scanned():
    with pytest.raises(
        ValueError,
        match=r"scan: argument 'axis': axis 'T' was given by name only, but no input is "
        r"scanned over it; .*\(the inputs with axis T are not scanned\)",
    ):
        hax.scan(lambda c, x: (c, x), "T", is_scanned=False)(0.0, hax.ones((T, E)))
