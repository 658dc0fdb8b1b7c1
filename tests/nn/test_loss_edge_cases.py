"""haliax.nn losses on bad or extreme input: infinite logits, empty masks, out-of-range targets, role-named errors."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.test_util import check_grads

import haliax as hax
import haliax.nn as hnn
from haliax.axis import AxisIndexError
from haliax.nn.fused_ce import fused_cross_entropy_loss
from haliax.nn.loss import binary_cross_entropy_loss, cross_entropy_loss, reduce_loss

B, L, P, E = hax.make_axes(B=2, L=3, P=4, E=5)
NEG = -jnp.inf


def _hand_ce(logits: np.ndarray, ids: np.ndarray) -> tuple[float, np.ndarray]:
    """Mean cross-entropy over rows and its gradient, by hand in NumPy (rows of `logits` [N, C])."""
    m = logits.max(axis=1, keepdims=True)
    e = np.exp(logits - m)
    lse = np.log(e.sum(axis=1)) + m[:, 0]
    loss = np.mean(lse - logits[np.arange(len(ids)), ids])
    grad = e / e.sum(axis=1, keepdims=True)
    grad[np.arange(len(ids)), ids] -= 1
    return float(loss), grad / len(ids)


# ------------------------------------------------------------------------------------------ infinite logits


def test_ce_neg_inf_logit_on_never_target_class_is_finite_and_correct():
    raw = np.array([[NEG, 1.0, 2.0], [0.5, NEG, 0.0]], np.float32)  # (B, L)
    ids = np.array([1, 2])
    targets = hnn.one_hot(hax.named(ids, B), L)  # (B, L)

    def f(a):  # logits laid out (L, B): the other order than the targets
        return cross_entropy_loss(hax.named(a, (L, B)), L, targets).scalar()

    loss, grad = jax.value_and_grad(f)(jnp.asarray(raw.T))
    want_loss, want_grad = _hand_ce(raw, ids)
    assert np.isfinite(loss) and np.isfinite(np.asarray(grad)).all()
    np.testing.assert_allclose(loss, want_loss, rtol=1e-5)
    np.testing.assert_allclose(np.asarray(grad).T, want_grad, rtol=1e-5, atol=1e-6)


def test_ce_neg_inf_logit_matches_torch():
    torch = pytest.importorskip("torch")
    raw = np.array([[NEG, 1.0, 2.0], [0.5, NEG, 0.0]], np.float32)
    ids = np.array([1, 2])
    t = torch.tensor(raw, requires_grad=True)
    ref = torch.nn.functional.cross_entropy(t, torch.tensor(ids))
    ref.backward()
    f = lambda a: cross_entropy_loss(hax.named(a, (B, L)), L, hnn.one_hot(hax.named(ids, B), L)).scalar()  # noqa: E731
    loss, grad = jax.value_and_grad(f)(jnp.asarray(raw))
    np.testing.assert_allclose(loss, ref.item(), rtol=1e-5)
    np.testing.assert_allclose(grad, t.grad.numpy(), rtol=1e-5, atol=1e-6)


def test_ce_soft_targets_with_zero_on_neg_inf_class():
    raw = jnp.array([[NEG, 0.0, 0.0]])
    soft = hax.named(jnp.array([[0.0, 0.25, 0.75]]), (hax.Axis("B", 1), L))
    f = lambda a: cross_entropy_loss(hax.named(a, (hax.Axis("B", 1), L)), L, soft).scalar()  # noqa: E731
    loss, grad = jax.value_and_grad(f)(raw)
    np.testing.assert_allclose(loss, np.log(2.0), rtol=1e-6)  # -(0.25 + 0.75) log(1/2)
    np.testing.assert_allclose(grad, [[0.0, 0.25, -0.25]], atol=1e-6)  # softmax - targets


def test_ce_target_on_neg_inf_class_is_infinite_not_nan():
    logits = hax.named(jnp.array([[NEG, 0.0, 0.0]]), (hax.Axis("B", 1), L))
    loss = cross_entropy_loss(logits, L, hnn.one_hot(hax.named([0], hax.Axis("B", 1)), L))
    assert np.isposinf(loss.scalar())


def test_ce_finite_gradients_match_numerical():
    logits = jax.random.normal(jax.random.PRNGKey(0), (2, 3))
    targets = hnn.one_hot(hax.named([0, 2], B), L)
    check_grads(lambda a: cross_entropy_loss(hax.named(a, (B, L)), L, targets).array, (logits,), order=2)


def test_bce_confident_infinite_logits_are_finite_and_correct():
    x = jnp.array([jnp.inf, -jnp.inf, 0.5, -2.0])
    t = jnp.array([1.0, 0.0, 1.0, 0.0])
    X = hax.Axis("X", 4)

    def f(a):
        return binary_cross_entropy_loss(hax.named(a, X), hax.named(t, X)).scalar()

    loss, grad = jax.value_and_grad(f)(x)
    sig = lambda z: 1 / (1 + np.exp(-z))  # noqa: E731
    # by hand: the infinite entries cost 0 and have gradient 0; -log sig(0.5) and -log(1 - sig(-2))
    want = (0 + 0 - np.log(sig(0.5)) - np.log(1 - sig(-2.0))) / 4
    want_grad = np.array([0.0, 0.0, sig(0.5) - 1, sig(-2.0) - 0]) / 4
    assert np.isfinite(loss) and np.isfinite(np.asarray(grad)).all()
    np.testing.assert_allclose(loss, want, rtol=1e-6)
    np.testing.assert_allclose(grad, want_grad, rtol=1e-6, atol=1e-7)


def test_bce_infinite_logits_unreduced_and_target_gradient_finite():
    X = hax.Axis("X", 2)
    x = hax.named(jnp.array([jnp.inf, -jnp.inf]), X)
    out = binary_cross_entropy_loss(x, hax.named([1.0, 0.0], X), reduction=None)
    np.testing.assert_array_equal(out.array, [0.0, 0.0])
    g = jax.grad(lambda t: binary_cross_entropy_loss(x, hax.named(t, X)).scalar())(jnp.array([1.0, 0.0]))
    assert np.isfinite(np.asarray(g)).all()


def test_bce_wrong_confident_logit_is_infinite():
    X = hax.Axis("X", 1)
    assert np.isposinf(binary_cross_entropy_loss(hax.named([jnp.inf], X), hax.named([0.0], X)).scalar())


def test_bce_finite_gradients_match_numerical():
    x = jax.random.normal(jax.random.PRNGKey(1), (2, 4))
    t = hax.named(jax.random.uniform(jax.random.PRNGKey(2), (4, 2)), (P, B))  # other order than the logits
    check_grads(lambda a: binary_cross_entropy_loss(hax.named(a, (B, P)), t).array, (x,), order=2)


def test_bce_matches_torch_with_plain_target_array():
    torch = pytest.importorskip("torch")
    x = np.array([[0.3, -1.0, 2.0, 0.0], [1.5, -0.5, 0.1, -3.0]], np.float32)
    t = np.array([[1, 0, 1, 0], [0, 1, 1, 0]], np.float32)
    ref = torch.nn.functional.binary_cross_entropy_with_logits(torch.tensor(x), torch.tensor(t))
    out = binary_cross_entropy_loss(hax.named(x, (B, P)), jnp.asarray(t))
    np.testing.assert_allclose(out.scalar(), ref.item(), rtol=1e-5)


# ------------------------------------------------------------------------------------------ empty where


def _ce_logits():
    return jax.random.normal(jax.random.PRNGKey(3), (2, 4, 3))  # (B, P, L)


def test_ce_where_all_false_is_zero_with_zero_gradient():
    targets = hnn.one_hot(hax.named(jnp.array([[0, 1, 2, 0], [1, 1, 2, 2]]), (B, P)), L)
    where = hax.zeros((P, B), dtype=bool)  # other order than the loss
    f = lambda a: cross_entropy_loss(hax.named(a, (B, P, L)), L, targets, where=where).scalar()  # noqa: E731
    loss, grad = jax.value_and_grad(f)(_ce_logits())
    assert float(loss) == 0.0
    np.testing.assert_array_equal(grad, np.zeros((2, 4, 3)))


def test_ce_where_reduction_axis_rows_without_true_are_zero():
    logits = hax.named(_ce_logits(), (B, P, L))
    targets = hnn.one_hot(hax.named(jnp.array([[0, 1, 2, 0], [1, 1, 2, 2]]), (B, P)), L)
    where = hax.named(jnp.array([[True, False, True, False], [False] * 4]), (B, P))
    out = cross_entropy_loss(logits, L, targets, where=where, reduction_axis=P)
    per = -jnp.take_along_axis(jax.nn.log_softmax(logits.array, -1), targets.array.argmax(-1)[..., None], -1)[..., 0]
    assert out.axes == (B,)
    np.testing.assert_allclose(out.array, [(per[0, 0] + per[0, 2]) / 2, 0.0], rtol=1e-6)
    g = jax.grad(
        lambda a: cross_entropy_loss(hax.named(a, (B, P, L)), L, targets, where=where, reduction_axis=P).array[1]
    )
    np.testing.assert_array_equal(g(logits.array), np.zeros((2, 4, 3)))


def test_masked_mean_equals_hax_mean_when_something_is_selected():
    arr = hax.named(jnp.arange(8.0).reshape(2, 4), (B, P))
    where = hax.named(jnp.array([True, False, True, True]), P)
    np.testing.assert_allclose(reduce_loss(arr, where=where).scalar(), hax.mean(arr, where=where).scalar(), rtol=1e-7)
    np.testing.assert_allclose(reduce_loss(arr, hax.mean, where=where).scalar(), (0 + 2 + 3 + 4 + 6 + 7) / 6, rtol=1e-6)


def test_bce_and_reduce_loss_where_all_false():
    X = hax.Axis("X", 3)
    w = hax.zeros(X, dtype=bool)
    f = lambda a: binary_cross_entropy_loss(hax.named(a, X), hax.ones(X), where=w).scalar()  # noqa: E731
    loss, grad = jax.value_and_grad(f)(jnp.array([0.1, jnp.inf, -1.0]))
    assert float(loss) == 0.0 and np.all(np.asarray(grad) == 0)
    assert float(reduce_loss(hax.ones(X), where=w).scalar()) == 0.0


def test_fused_ce_where_all_false():
    h = hax.random.normal(jax.random.PRNGKey(0), (P, E))
    w = hax.random.normal(jax.random.PRNGKey(1), (L, E))
    ids = hax.named([0, 1, 2, 0], P)
    where = hax.zeros(P, dtype=bool)
    f = lambda h, w: fused_cross_entropy_loss(h, w, E, L, ids, where=where).scalar()  # noqa: E731
    loss, (gh, gw) = jax.value_and_grad(f, argnums=(0, 1))(h, w)
    assert float(loss) == 0.0
    assert np.all(np.asarray(gh.array) == 0) and np.all(np.asarray(gw.array) == 0)


# ------------------------------------------------------------------------------------------ out-of-range targets


@pytest.mark.parametrize("bad_id", [3, 7, -1])
def test_ce_out_of_range_one_hot_raises(bad_id):
    logits = hax.named(_ce_logits(), (B, P, L))
    ids = hax.named(jnp.array([[0, 1, 2, 0], [1, bad_id, 2, 2]]), (B, P))
    with pytest.raises(
        AxisIndexError, match=r"cross_entropy_loss: 'targets'.*first at B=1, P=1.*axis L \(size 3\)"
    ) as e:
        cross_entropy_loss(logits, L, hnn.one_hot(ids, L))
    assert isinstance(e.value, IndexError) and isinstance(e.value, ValueError)


def test_ce_out_of_range_integer_one_hot_raises():
    logits = hax.named(_ce_logits(), (B, P, L))
    ids = hax.named(jnp.array([[0, 1, 2, 0], [1, 9, 2, 2]]), (B, P))
    with pytest.warns(UserWarning, match="not a floating point"), pytest.raises(IndexError, match=r"\[0, 3\)"):
        cross_entropy_loss(logits, L, hnn.one_hot(ids, L, dtype=jnp.int32))


def test_ce_out_of_range_raises_even_unreduced():
    logits = hax.named(_ce_logits(), (B, P, L))
    ids = hax.named(jnp.array([[0, 1, 2, 0], [1, 9, 2, 2]]), (B, P))
    with pytest.raises(AxisIndexError, match="cross_entropy_loss"):
        cross_entropy_loss(logits, L, hnn.one_hot(ids, L), reduction=None)


def test_ce_out_of_range_excluded_by_where_is_fine():
    logits = hax.named(_ce_logits(), (B, P, L))
    ids = hax.named(jnp.array([[0, 1, 2, 0], [1, -100, 2, 2]]), (B, P))  # -100: a padding id
    where = ids != -100
    out = cross_entropy_loss(logits, L, hnn.one_hot(ids, L), where=where)
    ok = cross_entropy_loss(
        logits, L, hnn.one_hot(hax.named(jnp.where(ids.array < 0, 0, ids.array), (B, P)), L), where=where
    )
    np.testing.assert_allclose(out.scalar(), ok.scalar(), rtol=1e-7)


def test_ce_out_of_range_under_jit_is_documented_behaviour():
    logits = hax.named(_ce_logits(), (B, P, L))
    ids = hax.named(jnp.array([[0, 1, 2, 0], [1, 9, 2, 2]]), (B, P))
    out = jax.jit(lambda lg, t: cross_entropy_loss(lg, L, t, reduction=None))(logits, hnn.one_hot(ids, L))
    assert float(out.array[1, 1]) == 0.0  # traced targets cannot be checked: the row counts as 0


@pytest.mark.parametrize("bad", [37, -1, 100])
def test_fused_ce_out_of_range_names_axis_and_size(bad):
    V = hax.Axis("vocab", 37)
    h = hax.ones((P, E))
    w = hax.ones((V, E))
    ids = hax.named([0, 1, bad, 2], P)
    with pytest.raises(AxisIndexError, match=r"fused_cross_entropy_loss: argument 'targets'.*axis vocab with size 37"):
        fused_cross_entropy_loss(h, w, E, V, ids)


# ------------------------------------------------------------------------------------------ errors that say who


def test_ce_label_size_mismatch_names_roles():
    with pytest.raises(ValueError, match=r"cross_entropy_loss: 'logits' has vocab\(7\) but 'targets' has vocab\(8\)"):
        cross_entropy_loss(hax.zeros((B, hax.Axis("vocab", 7))), "vocab", hax.zeros((B, hax.Axis("vocab", 8))))


def test_ce_label_axis_given_with_target_size_names_roles():
    with pytest.raises(ValueError, match=r"'logits' has vocab\(7\) but 'targets' has vocab\(8\)"):
        cross_entropy_loss(
            hax.zeros((B, hax.Axis("vocab", 7))), hax.Axis("vocab", 8), hax.zeros((B, hax.Axis("vocab", 8)))
        )


def test_ce_batch_size_mismatch_names_roles():
    with pytest.raises(ValueError, match=r"cross_entropy_loss: 'logits' has B\(2\) but 'targets' has B\(3\)"):
        cross_entropy_loss(hax.zeros((B, L)), L, hax.zeros((B.resize(3), L)))


def test_ce_and_log_normalizers_names_itself():
    with pytest.raises(
        ValueError, match=r"cross_entropy_loss_and_log_normalizers: 'logits' has L\(3\) but 'targets' has L\(4\)"
    ):
        hnn.cross_entropy_loss_and_log_normalizers(hax.zeros((B, L)), L, hax.zeros((B, L.resize(4))))


@pytest.mark.parametrize("arg", ["logits", "targets"])
def test_ce_plain_arrays_are_type_errors(arg):
    logits, targets = hax.zeros((B, L)), hnn.one_hot(hax.named([0, 1], B), L)
    kwargs = {"logits": logits, "targets": targets}
    kwargs[arg] = jnp.zeros((2, 3))
    with pytest.raises(TypeError, match=rf"cross_entropy_loss: argument '{arg}' must be a NamedArray"):
        cross_entropy_loss(kwargs["logits"], L, kwargs["targets"])


def _where_cases():
    return [
        (hax.ones(hax.Axis("Q", 2), dtype=bool), r"Q\(2\) is not a loss axis"),
        (hax.ones(B.resize(5), dtype=bool), r"B\(5\) but the loss has B\(2\)"),
        (hax.ones((B, L), dtype=bool), r"L\(3\) is not a loss axis"),
    ]


@pytest.mark.parametrize("case", range(3))
def test_ce_where_that_does_not_broadcast(case):
    where, detail = _where_cases()[case]
    targets = hnn.one_hot(hax.named([0, 1], B), L)
    with pytest.raises(
        ValueError,
        match=r"cross_entropy_loss: argument 'where' with axes \(.*\) does not broadcast "
        r"against the loss axes \(B\(2\)\): " + detail,
    ):
        cross_entropy_loss(hax.zeros((B, L)), L, targets, where=where)


@pytest.mark.parametrize("case", range(2))
def test_bce_where_that_does_not_broadcast(case):
    where, detail = _where_cases()[case]
    with pytest.raises(
        ValueError, match=r"binary_cross_entropy_loss: argument 'where'.*loss axes \(B\(2\)\): " + detail
    ):
        binary_cross_entropy_loss(hax.zeros(B), hax.ones(B), where=where)


def test_reduce_loss_where_that_does_not_broadcast():
    with pytest.raises(ValueError, match=r"reduce_loss: argument 'where' with axes \(Q\(2\)\).*\(B\(2\), P\(4\)\)"):
        reduce_loss(hax.zeros((B, P)), where=hax.ones(hax.Axis("Q", 2), dtype=bool))


def test_fused_ce_where_that_does_not_broadcast():
    ids = hax.named([0, 1, 2, 0], P)
    with pytest.raises(ValueError, match=r"fused_cross_entropy_loss: argument 'where'.*\(P\(4\)\): B\(2\) is not"):
        fused_cross_entropy_loss(hax.ones((P, E)), hax.ones((L, E)), E, L, ids, where=hax.ones(B, dtype=bool))


def test_where_float_is_type_error():
    targets = hnn.one_hot(hax.named([0, 1], B), L)
    with pytest.raises(
        TypeError, match=r"cross_entropy_loss: argument 'where' must be a boolean mask, got dtype float32"
    ):
        cross_entropy_loss(hax.zeros((B, L)), L, targets, where=hax.ones(B))


def test_where_plain_array_is_type_error():
    with pytest.raises(TypeError, match=r"binary_cross_entropy_loss: argument 'where' must be a boolean NamedArray"):
        binary_cross_entropy_loss(hax.zeros(B), hax.ones(B), where=jnp.ones(2, dtype=bool))


def test_integer_where_is_read_as_a_mask():
    arr = hax.named(jnp.array([1.0, 3.0]), B)
    assert float(reduce_loss(arr, where=hax.named(jnp.array([0, 1]), B)).scalar()) == 3.0


def test_reduce_loss_missing_reduction_axis_names_it():
    with pytest.raises(ValueError, match=r"reduce_loss: argument 'reduction_axis'.*Q"):
        reduce_loss(hax.zeros((B, P)), where=hax.ones(B, dtype=bool), reduction_axis="Q")


def test_bce_size_mismatch_names_roles():
    with pytest.raises(ValueError, match=r"binary_cross_entropy_loss: 'logits' has B\(2\) but 'targets' has B\(3\)"):
        binary_cross_entropy_loss(hax.zeros(B), hax.ones(B.resize(3)))


def test_bce_unrelated_axes_name_roles():
    with pytest.raises(
        ValueError, match=r"binary_cross_entropy_loss: 'logits' has axes \(B\(2\)\) and 'targets' has axes \(P\(4\)\)"
    ):
        binary_cross_entropy_loss(hax.zeros(B), hax.ones(P))


def test_bce_plain_targets_wrong_shape():
    with pytest.raises(
        ValueError, match=r"binary_cross_entropy_loss: plain-array 'targets' of shape \(3,\).*\(B\(2\)\)"
    ):
        binary_cross_entropy_loss(hax.zeros(B), jnp.ones(3))


def test_bce_plain_logits_is_type_error():
    with pytest.raises(TypeError, match=r"binary_cross_entropy_loss: argument 'logits' must be a NamedArray"):
        binary_cross_entropy_loss(jnp.zeros(2), hax.ones(B))


def test_fused_ce_embed_mismatch_names_embeddings_and_lm_head():
    ids = hax.named([0, 1, 2, 0], P)
    with pytest.raises(
        ValueError,
        match=r"fused_cross_entropy_loss: 'embeddings' has E\(5\) but 'unembed_weight' \(the LM head\) has E\(6\)",
    ):
        fused_cross_entropy_loss(hax.ones((P, E)), hax.ones((L, E.resize(6))), "E", L, ids)


def test_fused_ce_targets_mismatch_names_roles():
    with pytest.raises(ValueError, match=r"fused_cross_entropy_loss: 'embeddings' has P\(4\) but 'targets' has P\(3\)"):
        fused_cross_entropy_loss(hax.ones((P, E)), hax.ones((L, E)), E, L, hax.named([0, 1, 2], P.resize(3)))
