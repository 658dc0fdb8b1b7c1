"""A character-level GPT trained on the Python standard library's source, built only from haliax.nn.

    python examples/gpt_char.py                      # default: ~3 minutes on 2 CPU cores
    python examples/gpt_char.py --data PATH          # any folder or file of text
    python examples/gpt_char.py --resume             # continue from the checkpoint in --out
    python examples/gpt_char.py --mesh data=2,model=4  # same training on 8 simulated devices
    python examples/gpt_char.py --mesh data=2,model=4 --explicit  # the same on an explicit-axis mesh

Characters are bytes (the stdlib source is almost entirely ASCII), so the vocabulary has 256 entries. The model:
Embedding -> Stacked[RmsNorm, MultiHeadAttention (RoPE, causal), RmsNorm, MLP] -> RmsNorm -> tied unembedding,
trained with cross-entropy and AdamW. At the end it prints the validation loss next to the unigram entropy of
the data (both in nats per character), saves a safetensors checkpoint and a loss-curve PNG, and samples text
with the KV cache.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys

if "--mesh" in sys.argv and "xla_force_host_platform_device_count" not in os.environ.get("XLA_FLAGS", ""):
    os.environ["XLA_FLAGS"] = os.environ.get("XLA_FLAGS", "") + " --xla_force_host_platform_device_count=8"

import json  # noqa: E402
import math  # noqa: E402
import sysconfig  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import equinox as eqx  # noqa: E402
import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
import optax  # noqa: E402
from tqdm import tqdm  # noqa: E402

import haliax as hax  # noqa: E402
import haliax.nn as hnn  # noqa: E402
from haliax.nn.attention import AttentionMask  # noqa: E402
from haliax.state_dict import load_state_dict, save_state_dict  # noqa: E402

Vocab = hax.Axis("vocab", 256)


# --------------------------------------------------------------------------------------------------
# model


class Block(eqx.Module):
    ln1: hnn.RmsNorm
    attn: hnn.MultiHeadAttention
    ln2: hnn.RmsNorm
    mlp: hnn.MLP

    @staticmethod
    def init(Embed: hax.Axis, Heads: hax.Axis, HeadSize: hax.Axis, Mlp: hax.Axis, *, key: jax.Array) -> Block:
        k1, k2 = jax.random.split(key)
        rope = hnn.RotaryEmbedding.init(HeadSize)
        attn = hnn.MultiHeadAttention.init(Embed, Heads, HeadSize, rotary=rope, key=k1)
        mlp = hnn.MLP.init(Embed, Embed, Mlp, 1, activation=hnn.gelu, key=k2)
        return Block(hnn.RmsNorm.init(Embed, use_bias=False), attn, hnn.RmsNorm.init(Embed, use_bias=False), mlp)

    def __call__(self, x: hax.NamedArray) -> hax.NamedArray:
        x = x + self.attn(self.ln1(x), AttentionMask.causal())
        return x + self.mlp(self.ln2(x))

    def decode(self, x: hax.NamedArray, cache: hnn.KVCache) -> tuple[hax.NamedArray, hnn.KVCache]:
        a, cache = self.attn.decode(self.ln1(x), cache)
        x = x + a
        return x + self.mlp(self.ln2(x)), cache


class CharGPT(eqx.Module):
    embed: hnn.Embedding
    blocks: hnn.Stacked
    ln_f: hnn.RmsNorm

    @staticmethod
    def init(cfg: dict, *, key: jax.Array) -> CharGPT:
        Embed = hax.Axis("embed", cfg["embed"])
        Heads = hax.Axis("heads", cfg["heads"])
        HeadSize = hax.Axis("head_size", cfg["embed"] // cfg["heads"])
        Mlp = hax.Axis("mlp", 4 * cfg["embed"])
        Layers = hax.Axis("layers", cfg["layers"])
        k_emb, k_blocks = jax.random.split(key)
        embed = hnn.Embedding.init(Vocab, Embed, init_scale=Embed.size**0.5 * 0.02, key=k_emb)
        blocks = hnn.Stacked.init(Layers, Block)(
            Embed, Heads, HeadSize, Mlp, key=jax.random.split(k_blocks, Layers.size)
        )
        return CharGPT(embed, blocks, hnn.RmsNorm.init(Embed, use_bias=False))

    def __call__(self, tokens: hax.NamedArray) -> hax.NamedArray:
        x = self.blocks.fold(self.embed(tokens))
        return self.embed.unembed(self.ln_f(x))

    def decode(self, tokens: hax.NamedArray, cache: hnn.KVCache) -> tuple[hax.NamedArray, hnn.KVCache]:
        x, cache = self.blocks.scan_via(Block.decode)(self.embed(tokens), cache)
        return self.embed.unembed(self.ln_f(x)), cache


# --------------------------------------------------------------------------------------------------
# data


def read_corpus(path: str | None, max_bytes: int) -> bytes:
    root = Path(path) if path else Path(sysconfig.get_paths()["stdlib"])
    if root.is_file():
        return root.read_bytes()[:max_bytes]
    files = sorted(p for p in root.rglob("*.py" if path is None else "*") if p.is_file() and "test" not in p.parts)
    chunks, total = [], 0
    for p in files:
        try:
            data = p.read_bytes()
        except OSError:
            continue
        chunks.append(data)
        total += len(data)
        if total >= max_bytes:
            break
    if not chunks:
        raise SystemExit(f"no text found under {root}")
    return b"\n".join(chunks)[:max_bytes]


def unigram_entropy(data: np.ndarray) -> float:
    counts = np.bincount(data, minlength=256).astype(np.float64)
    p = counts[counts > 0] / counts.sum()
    return float(-(p * np.log(p)).sum())


def batch_at(data: np.ndarray, step: int, seed: int, batch: int, seq: int) -> np.ndarray:
    """The batch for a step depends only on (seed, step), so a resumed run sees the same data."""
    rng = np.random.default_rng([seed, step])
    starts = rng.integers(0, len(data) - seq - 1, size=batch)
    return np.stack([data[s : s + seq + 1] for s in starts])


# --------------------------------------------------------------------------------------------------
# checkpoints


def save_checkpoint(path: Path, model: CharGPT, opt_state, step: int, history: list) -> None:
    sd = {f"model.{k}": v for k, v in hax.state_dict.to_state_dict(model).items()}
    for i, leaf in enumerate(jax.tree_util.tree_leaves(opt_state)):
        sd[f"opt.{i}"] = np.asarray(leaf)
    sd["step"] = np.asarray(step, dtype=np.int64)
    save_state_dict(sd, str(path))
    path.with_suffix(".json").write_text(json.dumps({"step": step, "history": history}))


def load_checkpoint(path: Path, model: CharGPT, opt_state):
    sd = load_state_dict(str(path))
    model_sd = {k[len("model.") :]: v for k, v in sd.items() if k.startswith("model.")}
    model = hax.state_dict.from_state_dict(model, model_sd)
    leaves, treedef = jax.tree_util.tree_flatten(opt_state)
    opt_state = jax.tree_util.tree_unflatten(treedef, [jnp.asarray(sd[f"opt.{i}"]) for i in range(len(leaves))])
    meta = json.loads(path.with_suffix(".json").read_text())
    return model, opt_state, int(sd["step"]), meta["history"]


# --------------------------------------------------------------------------------------------------
# main


def parse_mesh(spec: str) -> dict[str, int]:
    out = {}
    for part in spec.split(","):
        name, size = part.split("=")
        out[name.strip()] = int(size)
    return out


def main(argv: list[str] | None = None) -> dict:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", type=str, default=None, help="folder or file of text (default: the Python stdlib)")
    p.add_argument("--out", type=str, default="out/gpt_char")
    p.add_argument("--steps", type=int, default=600)
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--seq", type=int, default=128)
    p.add_argument("--embed", type=int, default=128)
    p.add_argument("--heads", type=int, default=4)
    p.add_argument("--layers", type=int, default=4)
    p.add_argument("--lr", type=float, default=3e-3)
    p.add_argument("--eval-every", type=int, default=100)
    p.add_argument("--max-bytes", type=int, default=3_000_000)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--sample-len", type=int, default=200)
    p.add_argument("--resume", action="store_true")
    p.add_argument(
        "--stop-after",
        type=int,
        default=None,
        help="stop (and checkpoint) after this many steps; "
        "the learning-rate schedule still follows --steps, so a later --resume continues identically",
    )
    p.add_argument("--mesh", type=str, default=None, help="e.g. data=2,model=4")
    p.add_argument(
        "--explicit",
        action="store_true",
        help="with --mesh: make the mesh axes AxisType.Explicit (shardings are part of the array types)",
    )
    p.add_argument("--tiny", action="store_true", help="a very small model, for tests")
    args = p.parse_args(argv)
    if args.tiny:
        args.batch, args.seq, args.embed, args.heads, args.layers, args.sample_len = 4, 16, 16, 4, 2, 12
    with contextlib.ExitStack() as stack:
        return run(args, stack)


def run(args: argparse.Namespace, stack: contextlib.ExitStack) -> dict:
    """Train, validate, checkpoint, plot and sample; `stack` holds the `--mesh` contexts (closed on any exit)."""
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    raw = np.frombuffer(read_corpus(args.data, args.max_bytes), dtype=np.uint8)
    split = int(len(raw) * 0.95)
    train_data, val_data = raw[:split], raw[split:]
    entropy = unigram_entropy(raw)
    print(
        f"data: {len(raw):,} bytes ({'stdlib' if args.data is None else args.data}); unigram entropy "
        f"{entropy:.3f} nats/char"
    )

    cfg = {"embed": args.embed, "heads": args.heads, "layers": args.layers}
    Batch, Pos = hax.Axis("batch", args.batch), hax.Axis("position", args.seq)
    model = CharGPT.init(cfg, key=jax.random.PRNGKey(args.seed))
    schedule = optax.warmup_cosine_decay_schedule(0.0, args.lr, max(1, args.steps // 20), max(2, args.steps))
    opt = optax.chain(optax.clip_by_global_norm(1.0), optax.adamw(schedule, weight_decay=0.01))
    opt_state = opt.init(eqx.filter(model, eqx.is_array))
    n_params = sum(x.size for x in jax.tree_util.tree_leaves(eqx.filter(model, eqx.is_array)))
    print(f"model: {n_params:,} parameters, {args.layers} layers, embed {args.embed}, {args.heads} heads")

    mapping = None
    if args.mesh:
        shape = parse_mesh(args.mesh)
        kind = jax.sharding.AxisType.Explicit if args.explicit else jax.sharding.AxisType.Auto
        mesh = jax.make_mesh(tuple(shape.values()), tuple(shape), axis_types=(kind,) * len(shape))
        mapping = {"batch": "data", "heads": "model", "mlp": "model"}
        stack.enter_context(jax.set_mesh(mesh))
        stack.enter_context(hax.axis_mapping(mapping))
        model, opt_state = hax.shard((model, opt_state))  # AdamW's moments are named like the parameters
        print(f"mesh: {dict(mesh.shape)} ({kind.name} axes), mapping {mapping}")
    elif args.explicit:
        raise SystemExit("--explicit needs --mesh (e.g. --mesh data=2,model=4 --explicit)")

    ckpt = out / "checkpoint.safetensors"
    start_step, history = 0, []
    if args.resume:
        model, opt_state, start_step, history = load_checkpoint(ckpt, model, opt_state)
        if mapping:
            model, opt_state = hax.shard((model, opt_state))
        print(f"resumed from {ckpt} at step {start_step}")

    def loss_fn(model: CharGPT, tokens: hax.NamedArray) -> jax.Array:
        inputs = tokens["position", : args.seq].rename({"position": "position"})
        targets = tokens["position", 1:]
        logits = model(hax.NamedArray(inputs.array, (Batch, Pos)))
        labels = hax.NamedArray(targets.array, (Batch, Pos))
        return hnn.cross_entropy_loss(logits, Vocab, hnn.one_hot(labels, Vocab, dtype=logits.dtype)).scalar()

    def train_step(model, opt_state, tokens):
        loss, grads = eqx.filter_value_and_grad(loss_fn)(model, tokens)
        updates, opt_state = opt.update(grads, opt_state, eqx.filter(model, eqx.is_array))
        return eqx.apply_updates(model, updates), opt_state, loss

    train_step = hax.named_jit(train_step, axis_resources=mapping, donate_args=(True, True, False))
    eval_loss = hax.named_jit(loss_fn, axis_resources=mapping)
    TokPos = hax.Axis("position", args.seq + 1)

    def to_named(arr: np.ndarray) -> hax.NamedArray:
        x = hax.named(jnp.asarray(arr, dtype=jnp.int32), (Batch, TokPos))
        return hax.shard(x) if mapping else x

    def validate() -> float:
        losses = [
            float(eval_loss(model, to_named(batch_at(val_data, i, 10_000 + args.seed, args.batch, args.seq))))
            for i in range(8)
        ]
        return float(np.mean(losses))

    tokens_per_step = args.batch * args.seq
    end_step = min(args.steps, args.stop_after) if args.stop_after else args.steps
    bar = tqdm(
        range(start_step, end_step),
        desc="train",
        initial=start_step,
        total=args.steps,
        mininterval=1.0,
        disable=os.environ.get("TQDM_DISABLE") == "1",
    )
    t0, val = time.perf_counter(), float("nan")
    for step in bar:
        tokens = to_named(batch_at(train_data, step, args.seed, args.batch, args.seq))
        model, opt_state, loss = train_step(model, opt_state, tokens)
        loss = float(loss)
        history.append([step, loss, None])
        if (step + 1) % args.eval_every == 0 or step + 1 == end_step:
            val = validate()
            history[-1][2] = val
            save_checkpoint(ckpt, model, opt_state, step + 1, history)
            bar.write(f"step {step + 1:>5}: train loss {loss:.3f}, validation loss {val:.3f} nats/char")
        elapsed = time.perf_counter() - t0
        bar.set_postfix(
            loss=f"{loss:.3f}", val=f"{val:.3f}", tok_s=f"{(step + 1 - start_step) * tokens_per_step / elapsed:,.0f}"
        )
    bar.close()

    final_val = validate() if math.isnan(val) else val
    print(
        f"final validation loss {final_val:.3f} nats/char vs unigram entropy {entropy:.3f} nats/char "
        f"({final_val / entropy:.0%} of it)"
    )
    print(f"checkpoint: {ckpt}")

    plot = out / "loss.png"
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    steps = [h[0] for h in history]
    ax.plot(steps, [h[1] for h in history], label="train", alpha=0.7)
    vals = [(h[0], h[2]) for h in history if h[2] is not None]
    if vals:
        ax.plot([v[0] for v in vals], [v[1] for v in vals], "o-", label="validation")
    ax.axhline(entropy, color="gray", linestyle="--", label="unigram entropy")
    ax.set_xlabel("step")
    ax.set_ylabel("cross-entropy (nats/char)")
    ax.legend()
    fig.savefig(plot, dpi=110, bbox_inches="tight")
    plt.close(fig)
    print(f"loss curve: {plot}")

    sample = generate(model, b"def ", args.sample_len, args.seed, mapping)
    print("sample:\n" + sample)
    return {
        "history": history,
        "val_loss": final_val,
        "unigram_entropy": entropy,
        "sample": sample,
        "start_step": start_step,
        "model": model,
    }


def generate(model: CharGPT, prompt: bytes, length: int, seed: int, mapping=None) -> str:
    """Sample with the KV cache: the prompt is prefilled in one chunk, then one token per step."""
    CachePos = hax.Axis("cache_position", len(prompt) + length)
    Layers = model.blocks.Block
    attn = model.blocks.stacked.attn
    cache = hnn.init_cache(attn.KVHeads, CachePos, attn.HeadSize, Layers=Layers)

    @hax.named_jit(axis_resources=mapping)
    def step(model, tokens, cache, key):
        logits, cache = model.decode(tokens, cache)
        last = logits["position", -1]
        nxt = hax.random.categorical(key, last / 0.8, Vocab)
        return nxt, cache

    key = jax.random.PRNGKey(seed + 1)
    toks = hax.named(jnp.asarray(list(prompt), dtype=jnp.int32), "position")
    out = list(prompt)
    for _ in range(length):
        key, sub = jax.random.split(key)
        nxt, cache = step(model, toks, cache, sub)
        out.append(int(nxt.scalar()))
        toks = hax.named(jnp.asarray([out[-1]], dtype=jnp.int32), "position")
    return bytes(out).decode("utf-8", errors="replace")


if __name__ == "__main__":
    main()
