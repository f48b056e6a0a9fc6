"""Issue 15's acceptance on mug_grasp recordings, on the SHIPPED checkpoints (slow,
`make test-acceptance`: it collects 350 demonstrations and trains one small diffusion policy).

The data: `planscope collect --paired` demonstrations, every mug placement demonstrated with
BOTH grasps (so at an episode's first frame the truth is 50/50 whatever the placement, in the
data and not only in expectation), at 100 placements (seeds 5000-5099) the shipped checkpoints
were NOT trained on (resources/make_checkpoints.sh: placements 0-149 x 2 grasps). At the first
frame of 12 episodes, one per placement, the neighbour analysis (K = 64, planners.frame_metrics:
the scan's reading) must find the two grasps, and:

- the shipped diffusion policy, read with 512 plans, is `multimodal` at 9 of 12 placements and
  never `collapsed`, `skewed` beyond one placement or `averaging`, and its left share (among the
  plans in a grasp) is within +-0.1 of the neighbours' at 9 of 12;
- the shipped regression baseline reads `averaging` (64 plans: 12 of 12 measured);
- a policy trained on one grasp (the left grasp at 150 other placements, seeds 1000-1149, the
  shipped architecture and recipe at 40 epochs) reads `collapsed` (64 plans: 12 of 12 measured).

The thresholds are the counts measured on the final checkpoints (the run is deterministic: fixed
seeds, one torch thread; the table is printed), less one placement for the 64-plan verdicts.
The shipped policy's verdict is judged with 512 plans because 64 plans are noisier where many
plans lie in no local data mode (that pulls one grasp's share of ALL plans beyond the 25-point
margin). Measured with the frame reading before ecebf3e (a plan in a mode by the mean radius):
64 plans `multimodal` 6 of 12 (`skewed` 5, no-mode 1), 31-55 % of plans in no mode at the
skewed frames; 512 plans `multimodal` 9, no-mode 2, `skewed` 1 (left 0.37 vs 0.49), within
+-0.1 at 9. With ecebf3e's membership rule (within 1.5x the data's own chunk-to-chunk distance;
re-measured on the same kept files): 64 plans `multimodal` 9 of 12 (`skewed` 2, no-mode 1);
512 plans `multimodal` 10, no-mode 2 (placements 3 and 10: 52-55 % of plans in no mode),
within +-0.1 at 9. Both pass the thresholds below; the no-mode placements are the weakest part. Before the retrain on paired demos the shipped policy (300
one-grasp-per-placement demos) was `skewed` per observation: it had learnt a chance trend of
the grasp with mug y (docs/mode-analysis.md, tests/app/core/inspector/evidence/).
"""
from __future__ import annotations

import pytest

CHECKPOINTS = "resources/checkpoints"
EPISODES = 12
K, N, BIG = 64, 64, 512
NEIGHBOUR_SEED, ONE_GRASP_SEED = 5000, 1000    # placements outside the shipped training seeds


@pytest.fixture(scope="module")
def demos(tmp_path_factory):
    """(paired neighbour data: 100 unseen placements x 2 grasps, one-grasp policy)."""
    from app.core.evaluation.collect import collect, default_workers
    from planners.train import train_policy
    from planners.training import TrainingConfig

    root = tmp_path_factory.mktemp("mug_paired")
    data, left = root / "paired.h5", root / "left.h5"
    summary = collect("mug_grasp", 100, NEIGHBOUR_SEED, str(data), paired=True,
                      workers=default_workers())
    assert summary.successes == summary.episodes == 200
    collect("mug_grasp", 150, ONE_GRASP_SEED, str(left), mode_mix=(1.0, 0.0),
            workers=default_workers())
    one = train_policy(left, root / "left_dp", TrainingConfig(
        kind="diffusion", epochs=40, seed=0, num_threads=1), quiet=True, command="pytest")
    return str(data), str(one)


def _left(r) -> tuple[float, float]:
    """(the plans' left share among plans in a grasp, the neighbours' left share)."""
    names = {v: k for k, v in r.data_labels.items()}
    return r.label_shares().get("left", 0.0), r.data_shares[names["left"]]


@pytest.mark.slow
@pytest.mark.acceptance
def test_mug_grasp_first_frames_against_the_nearest_frames(demos):
    check_first_frames(*demos)


def check_first_frames(data: str, one_ckpt: str,
                       checkpoints: str = CHECKPOINTS) -> list[str]:
    """The acceptance's reading and assertions on a paired data file, the shipped checkpoints
    and the one-grasp checkpoint (also runnable on kept files); returns the per-placement table."""
    from app.core.inspector.dataset_source import DatasetSource
    from planners import load_planner

    sources = {name: DatasetSource(data, load_planner(ckpt), neighbours=K) for name, ckpt in (
        ("shipped", f"{checkpoints}/mug_grasp_diffusion"),
        ("regression", f"{checkpoints}/mug_grasp_regression"),
        ("one_grasp", one_ckpt))}
    verdicts: dict[str, list[str]] = {name: [] for name in (*sources, "shipped_512")}
    two_grasps = close = 0
    table = []
    for ep in range(0, 2 * EPISODES, 2):                 # one episode per placement
        reads = {name: s.inspect(ep, 0, N, seed=ep) for name, s in sources.items()}
        shipped = reads["shipped"]
        two_grasps += sorted(shipped.data_labels.values()) == ["left", "right"]
        assert shipped.compared_against.startswith(f"the {K} nearest frames of paired.h5 (2 local")
        for name, r in reads.items():
            verdicts[name].append(r.verdict)
        big = sources["shipped"].inspect(ep, 0, BIG, seed=100 + ep)
        verdicts["shipped_512"].append(big.verdict)
        plans_left, data_left = _left(big)
        close += abs(plans_left - data_left) <= 0.1
        table.append(f"placement {ep // 2:2d}: data left {data_left:.2f}, shipped left "
                     f"{plans_left:.2f} (512 plans, {big.verdict}), in no mode "
                     f"{sum(not label for label in big.labels) / len(big.labels):.2f}; 64 plans: "
                     + ", ".join(f"{n} {r.verdict}" for n, r in reads.items()))
    print("\n" + "\n".join(table))
    assert two_grasps == EPISODES                          # the data's two grasps, every frame
    shipped = verdicts["shipped_512"]
    assert shipped.count("multimodal") >= MIN_MULTIMODAL, shipped
    assert not {"collapsed", "averaging"} & set(shipped) and shipped.count("skewed") <= 1, shipped
    assert close >= MIN_CLOSE, table                       # shares within +-0.1 at 512 plans
    assert verdicts["regression"].count("averaging") >= MIN_AVERAGING, verdicts["regression"]
    assert verdicts["one_grasp"].count("collapsed") >= MIN_COLLAPSED, verdicts["one_grasp"]
    return table


# Measured on the final checkpoints (make_checkpoints.sh at 7de4327; the module docstring):
MIN_MULTIMODAL = 9      # shipped diffusion, 512 plans: 9 multimodal, 2 no-mode, 1 skewed (10/2/0 at ecebf3e)
MIN_CLOSE = 9           # left share within +-0.1 of the neighbours' (512 plans): 9 of 12
MIN_AVERAGING = 11      # regression, 64 plans: 12 of 12
MIN_COLLAPSED = 11      # one-grasp policy, 64 plans: 12 of 12
