"""Deterministic scan rows for the scan-file tests: every value derived from (episode, frame)."""
from __future__ import annotations

import numpy as np

N, H, D, P = 3, 4, 2, 2
COLUMNS = {"demo_dist_nearest": ("float32", (P,)), "spread": ("float32", (P,)),
           "collapsed": ("uint8", (P,)), "averaged": ("uint8", (P,)),
           "latency_ms": ("float32", (P,)), "plans": ("float32", (P, N, H, D))}
HEADER = {"policies": [{"label": "A", "ref": "a"}, {"label": "B", "ref": "b"}],
          "data": {"path": "demos.h5", "format": "planscope"}, "settings": {"every": 2, "num": N}}


def rows(keys: list[tuple[int, int]]) -> dict[str, np.ndarray]:
    """Columns for (episode, frame) keys; values are functions of the key."""
    ep = np.asarray([k[0] for k in keys], dtype=np.int64)
    fr = np.asarray([k[1] for k in keys], dtype=np.int64)
    base = (ep * 1000 + fr).astype(np.float32)
    plans = (base[:, None, None, None, None]
             + np.arange(P * N * H * D, dtype=np.float32).reshape(1, P, N, H, D))
    return {"episode": ep, "frame": fr,
            "demo_dist_nearest": np.stack([base / 1e4, base / 2e4], 1),
            "spread": np.stack([(base % 7) / 7, (base % 5) / 5], 1).astype(np.float32),
            "collapsed": np.stack([(fr % 10 == 0), (fr % 6 == 0)], 1).astype(np.uint8),
            "averaged": np.stack([(ep % 3 == 1) & (fr == 4), fr < 0], 1).astype(np.uint8),
            "latency_ms": np.full((len(keys), P), 5.0, np.float32), "plans": plans}


def keys_for(episodes: range, length: int, every: int = 2) -> list[tuple[int, int]]:
    return [(e, f) for e in episodes for f in range(0, length, every)]
