import sys, re, numpy as np
sys.path.insert(0, ".")  # run from the repository root
from app.core.inspector.dataset_source import DatasetSource
from planners import load_planner
from planners.frame_metrics import frame_local_modes
src = DatasetSource(sys.argv[1], load_planner("resources/checkpoints/mug_grasp_diffusion"), neighbours=64)
for frame in (0, 1, 2, 3, 5, 10, 18):
    gains, rel, passed = [], [], 0
    for ep in range(30):
        chunks, dist = src.local.nearest(ep, frame, 64)
        st = src.local.states[src.local.last_rows]; q = src.local.states[src.local.starts[ep] + frame]
        local = frame_local_modes(chunks, dist, action_scale=src.action_scale, states=st, query=q)
        m = re.search(r"log-loss ([\d.]+) vs ([\d.]+)", local.fit_note)
        if m:
            a, b = float(m[1]), float(m[2]); gains.append(b - a); rel.append(a / b); passed += 1
    print(f"frame {frame:2d}: fit passed {passed}/30; gains (nats/neighbour) {np.round(sorted(gains), 3).tolist()}", flush=True)
