"""A scan file with every engine column, written directly (no policy): values known by
construction, for the state, the views and the benchmarks."""
from __future__ import annotations

import numpy as np

from app.core.scan.config import column_spec
from recordings.formats.scan_file import ScanWriter
from recordings.scan_ranking import CHANGE_COLUMNS, FLAGS

HEADER = {"policies": [{"label": "A: before"}, {"label": "B: after"}],
          "data": {"path": "demos.h5", "format": "planscope", "episodes": 40},
          "settings": {"every": 2, "num_samples": 8}}


def synthetic_rows(episodes: int, length: int, every: int = 2, policies: int = 2,
                   seed: int = 0) -> dict[str, np.ndarray]:
    """Rows of a scan where policy B (index 1) collapses on the first third of every third
    episode; demo distance grows along each episode."""
    rng = np.random.default_rng(seed)
    ep, fr = np.meshgrid(np.arange(episodes), np.arange(0, length, every), indexing="ij")
    ep, fr = ep.reshape(-1), fr.reshape(-1)
    n = len(ep)
    spec = column_spec(policies)
    rows: dict[str, np.ndarray] = {"episode": ep, "frame": fr}
    for name, (dtype, shape) in spec.items():
        rows[name] = np.zeros((n, *shape), dtype)
    rows["demo_dist_nearest"][:] = (fr / length)[:, None] * 0.2 + rng.uniform(0, 0.02, (n, policies))
    rows["spread"][:] = rng.uniform(0.01, 0.1, (n, policies))
    rows["coverage"][:] = 1.0
    bad = (ep % 3 == 0) & (fr < length / 3)
    if policies == 2:
        rows["collapsed"][bad, 1] = 1
        rows["coverage"][bad, 1] = 0.5
        rows["modes_lost"][bad] = 1
        rows["demo_dist_change"][:] = rows["demo_dist_nearest"][:, 1] - rows["demo_dist_nearest"][:, 0]
    assert all(name in rows for name in FLAGS + (CHANGE_COLUMNS if policies == 2 else ()))
    return rows


def write_scan(path, episodes: int = 40, length: int = 30, every: int = 2, chunk: int = 4096,
               durable: bool = False) -> str:
    rows = synthetic_rows(episodes, length, every)
    header = dict(HEADER, settings={"every": every, "num_samples": 8})
    with ScanWriter(path, columns=column_spec(2), header=header, durable=durable) as w:
        for start in range(0, len(rows["episode"]), chunk):
            w.write_chunk({k: v[start:start + chunk] for k, v in rows.items()})
    return str(path)
