"""Prints the figures of docs/recording-format.md "Replaying a sample" (not part of CI): file size of
one eval rollout with 25 replans (200 steps, Ta=8), N=16, H=16, D=4, DDPM 100, written by write_recording.
Run: .venv/bin/python tests/recordings/noise_size.py"""
import os, sys, tempfile
import numpy as np
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", ".."))
from recordings.header import write_recording
from recordings.rollout import ReplanRecord, Rollout

R, N, H, D, S = 25, 16, 16, 4, 100
rng = np.random.default_rng(0)
def rollout(initial, step, chain):
    reps = [ReplanRecord(step=8 * j, samples=rng.standard_normal((N, H, D)), executed_index=0,
                         mode_labels=[""] * N, feasible=np.ones(N, bool), latency_ms=1.0,
                         executed_chunk=np.zeros((8, D)),
                         chain=rng.standard_normal((S + 1, N, H, D)) if chain else None,
                         x0_estimates=rng.standard_normal((S, N, H, D)) if chain else None,
                         initial_noise=rng.standard_normal((N, H, D)) if initial else None,
                         step_noise=rng.standard_normal((S - 1, N, H, D)) if step else None,
                         replay={"seed": j, "solver": "ddpm", "steps": S, "temperature": 1.0})
            for j in range(R)]
    T = 200
    return Rollout(obs={"ee_pos": np.zeros((T, 3))}, actions=np.zeros((T, D)), states=np.zeros((T, 60)),
                   rewards=np.zeros(T), dones=np.zeros(T, bool), replans=reps)
with tempfile.TemporaryDirectory() as d:
    for name, args in [("samples only", (0, 0, 0)), ("+ initial noise (default)", (1, 0, 0)),
                       ("+ step noise (--record-noise)", (1, 1, 0)), ("+ chain (--record-chain)", (1, 0, 1))]:
        p = os.path.join(d, "x.h5")
        write_recording(p, [rollout(*args) for _ in range(4)], kind="eval")
        print(f"{name:32s} {os.path.getsize(p) / 4 / 1e6:7.3f} MB per rollout")
        os.remove(p)
