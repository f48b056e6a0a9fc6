"""Issue 15's acceptance on mug_grasp recordings (slow, `make test-acceptance`: it collects 500
demonstrations and trains two diffusion policies; 28 min on two cores under heavy load, of which
26 min collecting and training).

The data: "paired" demonstrations, every mug placement demonstrated with BOTH grasps (the scripted
expert draws the grasp independently of the state, so at an episode's first frame the truth is
50/50 whatever the placement; pairing removes the chance correlation a one-grasp-per-placement
sample has: in the 300 demos the shipped policy was trained on, the left share is 0.40 for mug y
< 0 and 0.68 for y > 0.05). At the first frame of 12 episodes the neighbour analysis (K = 64,
planners.frame_metrics: the scan's reading) must find the two grasps, and:

- a diffusion policy trained on paired recordings (150 other placements x 2 grasps, the shipped
  architecture and recipe, 40 epochs) reads `multimodal` (11 of 12 placements; never collapsed
  or averaging) with its left share (512 plans) within +-0.1 of the neighbours' at >= 9 of 12
  (measured 10);
- the shipped regression baseline reads `averaging` (10 of 12; at two placements its one plan
  lies within one grasp: `collapsed`);
- a policy trained on one grasp (the left half of the same recordings, the same recipe) reads
  `collapsed` (12 of 12; at 10 epochs its plans were too imprecise to lie within the left mode
  at 2 of 6 frames);
- the SHIPPED diffusion policy (trained on 300 one-grasp-per-placement demos) reaches both grasps
  at 11 of 12 placements and never averages, but is skewed per observation: where it reads
  `skewed` with 64 plans, 512 plans bear it out (same sign, off by > 0.15); where it reads
  `collapsed`, 512 plans give the missed grasp < 5 % (placement 8: 97.5 % left). It overfits the
  placement (held-out placements: left-share sd 0.18-0.22 between observations against 0.02 from
  sampling); docs/datasets.md has the measurements.
"""
from __future__ import annotations

import numpy as np
import pytest

CHECKPOINTS = "resources/checkpoints"
EPISODES = 12
K, N, BIG = 64, 64, 512


def _write_paired(seeds, out, left_out=None) -> None:
    """Every seed's placement demonstrated with the left, then the right grasp (one scene,
    in order); left_out: also a file of the left demonstrations alone."""
    from app.core.evaluation.collect import run_expert_episode
    from recordings.writer import RecordingWriter
    from scenes.registry import make_scene

    scene = make_scene("mug_grasp")
    env = {"env_name": "mug_grasp", "type": "planscope", "env_kwargs": {"perturb": {}},
           "obs_spec": [[k, s] for k, s in scene.obs_spec]}
    jobs = [(s, mix) for s in seeds for mix in ((1.0, 0.0), (0.0, 1.0))]
    config = {"command": "paired demos (test)", "scene": "mug_grasp", "episodes": len(jobs),
              "mode_mix": {"left": 0.5, "right": 0.5}, "policy": "expert"}
    writers = [RecordingWriter(out, env_args=env, config=config, kind="demos",
                               seed_panel=[s for s, _ in jobs], durable=False)]
    if left_out:
        writers.append(RecordingWriter(left_out, env_args=env, config=config, kind="demos",
                                       seed_panel=list(seeds), durable=False))
    try:
        for seed, mix in jobs:
            rollout = run_expert_episode(scene, seed, mix, None)
            assert rollout.success and rollout.mode == ("left" if mix[0] else "right")
            writers[0].write_rollout(rollout)
            if left_out and mix[0]:
                writers[1].write_rollout(rollout)
    finally:
        for w in writers:
            w.close()
        scene.close()


@pytest.fixture(scope="module")
def paired(tmp_path_factory):
    """(neighbour data: placements 0..99 x 2 grasps, paired policy, one-grasp policy)."""
    from planners.train import train_policy
    from planners.training import TrainingConfig

    root = tmp_path_factory.mktemp("mug_paired")
    data, train, left = root / "paired.h5", root / "train.h5", root / "left.h5"
    _write_paired(range(100), data)
    _write_paired(range(1000, 1150), train, left)
    both = train_policy(train, root / "paired_dp", TrainingConfig(
        kind="diffusion", epochs=40, seed=0, num_threads=1), quiet=True, command="pytest")
    one = train_policy(left, root / "left_dp", TrainingConfig(
        kind="diffusion", epochs=40, seed=0, num_threads=1), quiet=True, command="pytest")
    return str(data), str(both), str(one)


def _left(r) -> tuple[float, float]:
    """(the plans' left share among plans in a grasp, the neighbours' left share)."""
    names = {v: k for k, v in r.data_labels.items()}
    return r.label_shares()["left"], r.data_shares[names["left"]]


@pytest.mark.slow
@pytest.mark.acceptance
def test_mug_grasp_first_frames_against_the_nearest_frames(paired):
    check_first_frames(*paired)


def check_first_frames(data: str, both_ckpt: str, one_ckpt: str) -> list[str]:
    """The acceptance's reading and assertions on a paired data file and the two trained
    checkpoints (also runnable on kept files); returns the per-placement table."""
    from app.core.inspector.dataset_source import DatasetSource
    from planners import load_planner

    sources = {name: DatasetSource(data, load_planner(ckpt), neighbours=K) for name, ckpt in (
        ("paired", both_ckpt), ("one_grasp", one_ckpt),
        ("shipped", f"{CHECKPOINTS}/mug_grasp_diffusion"),
        ("regression", f"{CHECKPOINTS}/mug_grasp_regression"))}
    verdicts: dict[str, list[str]] = {name: [] for name in sources}
    two_grasps = conditional = close = shipped_both = 0
    alarms, borne_out = [], []
    table = []
    for ep in range(0, 2 * EPISODES, 2):                 # one episode per placement
        reads = {name: s.inspect(ep, 0, N, seed=ep) for name, s in sources.items()}
        first = reads["paired"]
        two_grasps += sorted(first.data_labels.values()) == ["left", "right"]
        assert first.compared_against.startswith(f"the {K} nearest frames of paired.h5 (2 local")
        conditional += first.local.state_conditional
        for name, r in reads.items():
            verdicts[name].append(r.verdict)
        big = sources["paired"].inspect(ep, 0, BIG, seed=100 + ep)
        plans_left, data_left = _left(big)
        close += abs(plans_left - data_left) <= 0.1
        shipped = reads["shipped"]
        shipped_both += shipped.metrics.coverage == 1.0
        gap512 = float("nan")
        if shipped.verdict in ("skewed", "collapsed"):
            # the shipped policy's alarm, re-read with 8x the plans at the same frame
            gap64 = _left(shipped)[0] - _left(shipped)[1]
            again = sources["shipped"].inspect(ep, 0, BIG, seed=100 + ep)
            left512 = again.label_shares().get("left", 0.0)
            gap512 = left512 - _left(again)[1]
            alarms.append(shipped.verdict)
            borne_out.append(np.sign(gap512) == np.sign(gap64) and (
                abs(gap512) > 0.15 if shipped.verdict == "skewed" else min(left512,
                                                                          1 - left512) < 0.05))
        table.append(f"placement {ep // 2:2d}: data left {data_left:.2f}, paired policy left "
                     f"{plans_left:.2f} (512 plans); shipped gap at 512 {gap512:+.2f}; "
                     + ", ".join(f"{n} {r.verdict}" for n, r in reads.items()))
    print("\n" + "\n".join(table) + f"\nconditional shares at {conditional} of {EPISODES}")
    assert two_grasps == EPISODES                          # the data's two grasps, every frame
    # paired: multimodal at 11 of 12 placements (measured); placement 4 reads skewed at 64 plans
    # (0.65 left at 512 plans against 0.49)
    assert verdicts["paired"].count("multimodal") >= EPISODES - 1, verdicts["paired"]
    assert not {"collapsed", "averaging"} & set(verdicts["paired"]), verdicts["paired"]
    assert close >= 0.75 * EPISODES, table                # shares within +-0.1 at 512 plans
    assert verdicts["regression"].count("averaging") >= 0.8 * EPISODES, verdicts["regression"]
    assert verdicts["one_grasp"].count("collapsed") >= EPISODES - 1, verdicts["one_grasp"]
    # shipped: both grasps nearly everywhere, never averaging; every alarm is the policy's own
    assert shipped_both >= EPISODES - 1 and "averaging" not in verdicts["shipped"], table
    assert all(borne_out), (alarms, borne_out, table)
    return table
