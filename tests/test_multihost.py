"""Two local processes on loopback run a sharded named reduction with jax.distributed (CPU, gloo)."""

import os
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

pytestmark = pytest.mark.slow

WORKER = Path(__file__).with_name("multihost_worker.py")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_two_process_sharded_reduction_matches_single_process():
    port = str(_free_port())
    env = {k: v for k, v in os.environ.items() if k != "XLA_FLAGS"}
    procs = [
        subprocess.Popen(
            [sys.executable, str(WORKER), str(i), port],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        for i in range(2)
    ]
    outs = []
    for p in procs:
        try:
            out, err = p.communicate(timeout=180)
        finally:
            p.kill()
        assert p.returncode == 0, err[-3000:]
        outs.append(out)
    full = np.arange(48, dtype=np.float32).reshape(8, 6) / 7.0
    expected_per_embed = (full**2).sum(0)
    for out in outs:
        line = next(ln for ln in out.splitlines() if ln.startswith("RESULT"))
        _, _pid, rest = line.split(" ", 2)
        per_embed_s, mean_s, nproc, ndev = rest.rsplit(" ", 3)
        assert int(nproc) == 2 and int(ndev) == 4
        np.testing.assert_allclose(np.array(eval(per_embed_s)), expected_per_embed, rtol=1e-5)
        np.testing.assert_allclose(float(mean_s), full.mean(), rtol=1e-5)
