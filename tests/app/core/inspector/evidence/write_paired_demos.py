"""Paired mug_grasp demos: every reset seed demonstrated with BOTH grasps (left then right), so
the grasp is independent of the state in the data by construction (no chance correlation)."""
import os, sys
sys.path.insert(0, ".")  # run from the repository root
from app.core.evaluation.collect import _run_jobs
from recordings.writer import RecordingWriter
from scenes.registry import make_scene

def main():
    first, count, out = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
    probe = make_scene("mug_grasp"); obs_spec = [[k, s] for k, s in probe.obs_spec]; probe.close()
    seeds = list(range(first, first + count))
    jobs = [("mug_grasp", {}, {}, s, mix, None) for s in seeds for mix in ([1.0, 0.0], [0.0, 1.0])]
    env_args = {"env_name": "mug_grasp", "type": "planscope", "env_kwargs": {"perturb": {}}, "obs_spec": obs_spec}
    config = {"command": "paired collect (scratch)", "scene": "mug_grasp", "episodes": len(jobs), "seed": first,
              "mode_mix": {"left": 0.5, "right": 0.5}, "noise": None, "perturbation": {}, "options": {}, "policy": "expert"}
    ok = 0
    with RecordingWriter(out, env_args=env_args, config=config, seed_panel=[j[3] for j in jobs], perturbations={},
                         kind="demos", durable=False) as w:
        for i, r in enumerate(_run_jobs(jobs, int(sys.argv[4]) if len(sys.argv) > 4 else 2)):
            w.write_rollout(r); ok += int(r.success)
    print("wrote", out, len(jobs), "episodes,", ok, "successful")


if __name__ == "__main__":
    main()
