"""The local data's left share at frame 0 of episodes 0..23 (K=64 nearest frames, the one
reading: frame_local_modes), beside the policy's 512-plan scene-labelled left share."""
import sys, re, numpy as np
sys.path.insert(0, ".")  # run from the repository root
from app.core.inspector.dataset_source import DatasetSource
from planners import load_planner
from planners.frame_metrics import frame_local_modes
from planners.mode_verdicts import wilson
src = DatasetSource(sys.argv[1], load_planner("resources/checkpoints/mug_grasp_diffusion"), neighbours=64)
pol = {}
for line in open(sys.argv[2]):
    m = re.match(r"seed\s+(\d+) demo (\w+)\s+left ([\d.]+) right ([\d.]+)", line)
    if m: pol[int(m[1])] = (m[2], float(m[3]), float(m[4]))
rows = []
for ep in sorted(pol):
    chunks, dist = src.local.nearest(ep, 0, 64)
    eps, _ = src.local.locate(src.local.last_rows)
    st = src.local.states[src.local.last_rows]; q = src.local.states[src.local.starts[ep]]
    local = frame_local_modes(chunks, dist, action_scale=src.action_scale, states=st, query=q)
    labels = src._label_modes(local, chunks, eps)
    left = sum(s for n, s in zip(local.names, local.shares) if labels.get(n) == "left")
    raw_left = np.mean([src.ds.episodes[int(e)].mode == "left" for e in eps])
    demo, pl, pr = pol[ep]
    pleft = pl / (pl + pr)
    k = round(pleft * 512); lo, hi = wilson(k, 512)
    rows.append((ep, demo, pleft, lo, hi, left, raw_left, local.state_conditional))
    print(f"ep {ep:3d} demo {demo:5s} policy left {pleft:.2f} ({lo:.2f}-{hi:.2f})  data left {left:.2f} "
          f"(raw neighbour count {raw_left:.2f}; {'conditional' if local.state_conditional else 'plain'}; labels {labels}) "
          f"gap {pleft - left:+.2f}", flush=True)
r = np.array([(p, d) for _, _, p, _, _, d, _, _ in rows])
print(f"mean policy left {r[:,0].mean():.3f}  mean data left {r[:,1].mean():.3f}  mean |gap| {np.abs(r[:,0]-r[:,1]).mean():.3f}  "
      f"|gap|>0.25 at {(np.abs(r[:,0]-r[:,1])>0.25).sum()} of {len(r)}  corr(policy,data) {np.corrcoef(r[:,0], r[:,1])[0,1]:+.2f}")
