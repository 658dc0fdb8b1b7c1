import warnings

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.test_util import check_grads

import haliax as hax
import haliax.nn as hnn
from tests.helpers import names

B, P, L = hax.make_axes(B=3, P=5, L=7)


def _logits(seed=0, axes=(B, P, L)):
    return hax.named(jax.random.normal(jax.random.PRNGKey(seed), tuple(a.size for a in axes)) * 2, axes)


def _labels(seed=1):
    return hax.named(jax.random.randint(jax.random.PRNGKey(seed), (B.size, P.size), 0, L.size), (B, P))


def _t(x):
    torch = pytest.importorskip("torch")
    return torch.from_numpy(np.array(x))


@pytest.mark.slow  # integration: a torch interop check
def test_hard_targets_match_torch():
    torch = pytest.importorskip("torch")
    logits, labels = _logits(), _labels()
    loss = hnn.cross_entropy_loss(logits, L, hnn.one_hot(labels, L))
    assert isinstance(loss, hax.NamedArray) and loss.axes == ()
    ref = torch.nn.functional.cross_entropy(_t(logits.array).permute(0, 2, 1), _t(labels.array).long())
    np.testing.assert_allclose(loss.scalar(), ref.numpy(), rtol=1e-5)


def test_soft_targets_match_torch_unreduced():
    torch = pytest.importorskip("torch")
    logits = _logits()
    targets = hnn.softmax(_logits(seed=5), L)
    loss = hnn.cross_entropy_loss(logits, L, targets, reduction=None)
    assert loss.axes == (B, P)
    ref = torch.nn.functional.cross_entropy(
        _t(logits.array).permute(0, 2, 1), _t(targets.array).permute(0, 2, 1), reduction="none"
    )
    np.testing.assert_allclose(loss.array, ref.numpy(), rtol=1e-5, atol=1e-6)


def test_mask_matches_torch_ignore_index():
    torch = pytest.importorskip("torch")
    logits, labels = _logits(), _labels()
    mask = hax.named(jax.random.bernoulli(jax.random.PRNGKey(3), 0.6, (B.size, P.size)), (B, P))
    loss = hnn.cross_entropy_loss(logits, L, hnn.one_hot(labels, L), where=mask)
    tl = _t(labels.array).long().clone()
    tl[~_t(mask.array)] = -100
    ref = torch.nn.functional.cross_entropy(_t(logits.array).permute(0, 2, 1), tl, ignore_index=-100)
    np.testing.assert_allclose(loss.scalar(), ref.numpy(), rtol=1e-5)
    # unreduced with where: masked positions are zero
    unreduced = hnn.cross_entropy_loss(logits, L, hnn.one_hot(labels, L), reduction=None, where=mask)
    ref_none = torch.nn.functional.cross_entropy(
        _t(logits.array).permute(0, 2, 1), tl, ignore_index=-100, reduction="none"
    )
    np.testing.assert_allclose(unreduced.array, ref_none.numpy(), rtol=1e-5, atol=1e-6)
    # reduction_axis=() also means "unreduced"
    np.testing.assert_allclose(
        hnn.cross_entropy_loss(logits, L, hnn.one_hot(labels, L), reduction_axis=(), where=mask).array,
        unreduced.array,
        rtol=1e-6,
        atol=1e-7,
    )


def test_reduction_axis_and_custom_reduction():
    logits, labels = _logits(), _labels()
    targets = hnn.one_hot(labels, L)
    per = hnn.cross_entropy_loss(logits, L, targets, reduction=None)
    by_b = hnn.cross_entropy_loss(logits, L, targets, reduction_axis=P)
    assert by_b.axes == (B,)
    np.testing.assert_allclose(by_b.array, per.array.mean(axis=1), rtol=1e-6)
    summed = hnn.cross_entropy_loss(logits, L, targets, reduction=hax.sum)
    np.testing.assert_allclose(summed.scalar(), per.array.sum(), rtol=1e-6)
    mx = hnn.cross_entropy_loss(logits, L, targets, reduction=hax.max, reduction_axis=B)
    assert mx.axes == (P,)
    np.testing.assert_allclose(mx.array, per.array.max(axis=0), rtol=1e-6)


def test_unreduced_axis_order_follows_targets():
    # as in Haliax, the unreduced loss follows the targets' axis order
    logits = _logits()
    targets = hnn.one_hot(_labels(), L).rearrange((P, B, L))
    loss = hnn.cross_entropy_loss(logits, L, targets, reduction=None)
    assert names(loss) == ["P", "B"]


def test_loss_and_log_normalizers():
    logits, labels = _logits(), _labels()
    loss, lse = hnn.cross_entropy_loss_and_log_normalizers(logits, L, hnn.one_hot(labels, L))
    assert loss.axes == (B, P) and lse.axes == (B, P)
    np.testing.assert_allclose(lse.array, jax.nn.logsumexp(logits.array, axis=-1), rtol=1e-6)
    expected = -jnp.take_along_axis(jax.nn.log_softmax(logits.array, -1), labels.array[..., None], -1)[..., 0]
    np.testing.assert_allclose(loss.array, expected, rtol=1e-5, atol=1e-6)


def test_label_axis_missing_errors():
    logits, labels = _logits(), _labels()
    with pytest.raises(ValueError, match="Lbl"):
        hnn.cross_entropy_loss(logits, "Lbl", hnn.one_hot(labels, L))
    # targets without the Label axis: clear error instead of silently treating them as weights
    with pytest.raises(ValueError, match="targets"):
        hnn.cross_entropy_loss(logits, L, hax.ones((B, P)))


def test_integer_targets_warn():
    logits, labels = _logits(), _labels()
    with pytest.warns(UserWarning, match="not a floating point type"):
        hnn.cross_entropy_loss(logits, L, hnn.one_hot(labels, L, dtype=jnp.int32))


def test_no_warning_for_float_targets():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        hnn.cross_entropy_loss(_logits(), L, hnn.one_hot(_labels(), L))


def test_bf16_logits_computed_in_float32():
    logits = _logits()
    targets = hnn.one_hot(_labels(), L)
    lo = hnn.cross_entropy_loss(logits.astype(jnp.bfloat16), L, targets)
    hi = hnn.cross_entropy_loss(logits.astype(jnp.bfloat16).astype(jnp.float32), L, targets)
    assert lo.dtype == jnp.float32
    np.testing.assert_allclose(lo.scalar(), hi.scalar(), rtol=1e-6)


def test_cross_entropy_grads():
    logits = _logits(axes=(B, L))
    targets = hnn.softmax(_logits(seed=4, axes=(B, L)), L)

    def f(a):
        return hnn.cross_entropy_loss(hax.named(a, (B, L)), L, targets).scalar()

    check_grads(f, (logits.array,), order=1, modes=["rev"], eps=1e-2)
    # analytic gradient: (softmax - targets) / batch
    g = jax.grad(f)(logits.array)
    np.testing.assert_allclose(g, (jax.nn.softmax(logits.array, -1) - targets.array) / B.size, rtol=1e-5, atol=1e-6)


@pytest.mark.slow  # integration: a torch interop check
def test_binary_cross_entropy_matches_torch():
    torch = pytest.importorskip("torch")
    logits = _logits(axes=(B, P))
    targets = hax.named(jax.random.uniform(jax.random.PRNGKey(9), (B.size, P.size)), (B, P))
    loss = hnn.binary_cross_entropy_loss(logits, targets)
    ref = torch.nn.functional.binary_cross_entropy_with_logits(_t(logits.array), _t(targets.array))
    np.testing.assert_allclose(loss.scalar(), ref.numpy(), rtol=1e-5)
    unreduced = hnn.binary_cross_entropy_loss(logits, targets, reduction=None)
    ref_none = torch.nn.functional.binary_cross_entropy_with_logits(
        _t(logits.array), _t(targets.array), reduction="none"
    )
    np.testing.assert_allclose(unreduced.array, ref_none.numpy(), rtol=1e-5, atol=1e-6)
    check_grads(
        lambda a: hnn.binary_cross_entropy_loss(hax.named(a, (B, P)), targets).scalar(),
        (logits.array,),
        order=1,
        modes=["rev"],
        eps=1e-2,
    )


def test_reduce_loss():
    x = hax.named(jnp.arange(6.0).reshape(2, 3), ("B", "P"))
    assert hnn.reduce_loss(x).scalar() == 2.5
    assert hnn.reduce_loss(x, None) is x
    w = hax.named(jnp.array([True, False, True]), "P")
    np.testing.assert_allclose(hnn.reduce_loss(x, where=w).scalar(), (0 + 2 + 3 + 5) / 4)
    assert hnn.reduce_loss(x, None, where=w).tolist() == [[0.0, 0.0, 2.0], [3.0, 0.0, 5.0]]
    assert hnn.reduce_loss(x, hax.sum, reduction_axis="P").tolist() == [3.0, 12.0]


def test_jit():
    logits, labels = _logits(), _labels()
    f = jax.jit(lambda lg, t: hnn.cross_entropy_loss(lg, L, t))
    np.testing.assert_allclose(
        f(logits, hnn.one_hot(labels, L)).scalar(),
        hnn.cross_entropy_loss(logits, L, hnn.one_hot(labels, L)).scalar(),
        rtol=1e-6,
    )
