"""Per-observation left share of a policy at frame 0 (scene reset) for training seeds and
held-out seeds, vs the demonstrated grasp of that seed (expert mode draw)."""
import sys, json, numpy as np
sys.path.insert(0, ".")  # run from the repository root
from planners import load_planner
from app.core.sampling import sample_in_scene
from scenes import make_scene, make_expert

ckpt = sys.argv[1]; n = int(sys.argv[2]); seeds = [int(s) for s in sys.argv[3].split(",")] if "," in sys.argv[3] else list(range(*map(int, sys.argv[3].split(":"))))
planner = load_planner(ckpt)
scene = make_scene("mug_grasp")
rows = []
for s in seeds:
    r = sample_in_scene(planner, "mug_grasp", s, n, scene=scene)
    ls = r["summary"].get("label_shares", {})
    scene.reset(s)
    demo = make_expert(scene, mode_mix=(0.5, 0.5), seed=s).mode
    left = ls.get("left", 0.0); right = ls.get("right", 0.0)
    rows.append((s, demo, left, right))
    obs = r["obs"]
    print(f"seed {s:5d} demo {demo:5s} left {left:.3f} right {right:.3f} none {1-left-right:.3f} mug {np.round(np.ravel(obs['mug_pos'])[-3:-1],3)}", flush=True)
L = np.array([r[2] / max(r[2] + r[3], 1e-9) for r in rows]); d = np.array([r[1] == "left" for r in rows])
print(json.dumps({"n": n, "mean_left": float(L.mean()), "sd_left": float(L.std()), "binom_sd": float(np.sqrt(.25 / n)),
                  "mean_left_when_demo_left": float(L[d].mean()) if d.any() else None,
                  "mean_left_when_demo_right": float(L[~d].mean()) if (~d).any() else None,
                  "frac_off_by_gt_0.25": float((abs(L - 0.5) > 0.25).mean())}))
