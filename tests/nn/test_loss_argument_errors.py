"""Loss arguments of the wrong kind: reduction and reduction_axis errors name the loss and the argument."""

import jax
import jax.numpy as jnp
import pytest

import haliax as hax
import haliax.nn as hnn
from haliax.axis import AxisSizeMismatchError
from haliax.nn.loss import reduce_loss

B, V, E = hax.make_axes(batch=2, vocab=4, e=3)


def _ce_args():
    logits = hax.random.normal(jax.random.PRNGKey(0), (B, V))
    return logits, V, hnn.one_hot(hax.named(jnp.array([0, 1]), B), V)


LOSSES = {
    "cross_entropy_loss": lambda **kw: hnn.cross_entropy_loss(*_ce_args(), **kw),
    "binary_cross_entropy_loss": lambda **kw: hnn.binary_cross_entropy_loss(_ce_args()[0], _ce_args()[2], **kw),
    "reduce_loss": lambda **kw: reduce_loss(hax.ones((B, V)), **kw),
    "fused_cross_entropy_loss": lambda **kw: hnn.fused_cross_entropy_loss(
        hax.ones((B, E)), hax.ones((E, V)), E, V, hax.named(jnp.array([0, 1]), B), **kw
    ),
}


@pytest.mark.parametrize("fn", list(LOSSES))
@pytest.mark.parametrize("reduction", ["mean", 3])
def test_reduction_that_is_not_callable(fn, reduction):
    with pytest.raises(TypeError, match=rf"^{fn}: argument 'reduction' must be a haliax reduction such as hax\.mean"):
        LOSSES[fn](reduction=reduction)


@pytest.mark.parametrize("fn", list(LOSSES))
def test_reduction_axis_typo_names_the_loss(fn):
    with pytest.raises(ValueError, match=rf"^{fn}: argument 'reduction_axis': axis bach not found .*Did you mean"):
        LOSSES[fn](reduction_axis="bach")


@pytest.mark.parametrize("fn", ["cross_entropy_loss", "reduce_loss"])
def test_reduction_axis_of_another_size_names_the_loss(fn):
    with pytest.raises(AxisSizeMismatchError, match=rf"^{fn}: argument 'reduction_axis': .*asked for batch\(3\)"):
        LOSSES[fn](reduction_axis=B.resize(3))


def test_valid_reductions_still_work():
    logits, L, t = _ce_args()
    per = hnn.cross_entropy_loss(logits, L, t, reduction=None)
    assert float(hnn.cross_entropy_loss(logits, L, t, reduction=hax.sum, reduction_axis=B).scalar()) == pytest.approx(
        float(per.array.sum()), rel=1e-6
    )
    assert hnn.cross_entropy_loss(logits, L, t, reduction_axis=()).axes == (B,)
