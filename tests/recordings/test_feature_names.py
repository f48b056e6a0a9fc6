"""Per-dimension feature names as LeRobot itself writes them (`ee_pos.x`, `ee_pos.y`, ...) map onto
a planscope policy's flat keys (`ee_pos` [3]) exactly like planscope's own `ee_pos.0..2`, checked
on the data set LeRobot 0.4.4 wrote (tests/recordings/formats/data/lerobot_v3) against the values
LeRobot's own reader returned; a mapping that really does not exist names both sides."""
from __future__ import annotations

import numpy as np
import pytest

from app.core.dataset_frames import check_policy_features, frame_observation
from planners.protocol import Feature, PlannerSpec
from recordings.dataset import Dataset, DatasetError, dimension_names, open_dataset
from tests.recordings.formats.helpers import LEROBOT_GOLDEN, LEROBOT_REAL

# The fixture's info.json, as LeRobot wrote it: observation.state names
# ["ee_pos.x", "ee_pos.y", "ee_pos.z", "gripper"]; observation.environment_state unnamed.
PLANSCOPE_KEYS = [("ee_pos", 3), ("gripper", 1)]


@pytest.fixture(scope="module")
def lerobot() -> Dataset:
    ds = open_dataset(LEROBOT_REAL)
    yield ds
    ds.close()


def test_the_fixture_carries_lerobots_axis_names(lerobot):
    assert lerobot.features["observation.state"].names == ("ee_pos.x", "ee_pos.y", "ee_pos.z",
                                                           "gripper")


def test_axis_names_resolve_to_planscope_keys(lerobot):
    assert lerobot.resolve(PLANSCOPE_KEYS) == [("observation.state", slice(0, 3)),
                                               ("observation.state", slice(3, 4))]
    # a key asked for on its own, in another order, still finds its own dimensions
    assert lerobot.resolve([("gripper", 1), ("ee_pos", 3)]) == [
        ("observation.state", slice(3, 4)), ("observation.state", slice(0, 3))]


def test_mapped_history_equals_lerobots_own_reader(lerobot):
    """The history LeRobot 0.4.4 returned with delta_timestamps (3 steps, is_pad) at every
    frame, split into planscope's keys, is what the mapped flat history holds."""
    golden = np.load(LEROBOT_GOLDEN)
    for i in range(int(golden["num_frames"])):
        ep = int(golden[f"frame/{i}/episode_index"])
        t = int(golden[f"frame/{i}/frame_index"])
        flat, pad = lerobot.flat_history(ep, t, [("gripper", 1), ("ee_pos", 3)], 3)
        want = golden[f"window/{i}/observation.state"]                  # [3, 4] LeRobot's order
        np.testing.assert_array_equal(flat, np.concatenate([want[:, 3:4], want[:, 0:3]], 1))
        assert pad.tolist() == golden[f"window/{i}/observation.state_is_pad"].tolist()


def test_a_policy_with_planscope_names_is_fed_from_lerobot_data(lerobot):
    """The path the data-set inspector, `planscope sample --data` and the scan take."""
    spec = PlannerSpec(name="planscope-keys", kind="regression", action_dim=4, horizon=8,
                       n_obs_steps=2, features=(Feature("ee_pos", (3,), "state"),
                                                Feature("gripper", (1,), "state")))
    check_policy_features(lerobot, spec, "the policy")
    obs = frame_observation(lerobot, spec, 1, 5)
    whole = lerobot.episode_slice(1, 4, 6, ["observation.state"])["observation.state"]
    assert obs["ee_pos"].shape == (2, 3) and obs["gripper"].shape == (2, 1)
    np.testing.assert_array_equal(obs["ee_pos"], whole[:, :3])
    np.testing.assert_array_equal(obs["gripper"], whole[:, 3:])


def test_spellings_tried():
    assert dimension_names("ee_pos", 3) == [["ee_pos.0", "ee_pos.1", "ee_pos.2"],
                                            ["ee_pos.x", "ee_pos.y", "ee_pos.z"]]
    assert ["quat.x", "quat.y", "quat.z", "quat.w"] in dimension_names("quat", 4)
    assert dimension_names("keypoint", 18) == [[f"keypoint.{i}" for i in range(18)]]
    assert ["gripper.pos"] in dimension_names("gripper", 1)


def test_unmapped_key_names_both_sides(lerobot):
    with pytest.raises(DatasetError) as err:
        lerobot.resolve([("ee_pos", 3), ("mug_pos", 3)])
    line = str(err.value)
    assert "\n" not in line and line.startswith(LEROBOT_REAL)
    assert "needs mug_pos (size 3)" in line
    assert "observation.state (ee_pos.x, ee_pos.y, ee_pos.z, gripper)" in line
    assert "observation.environment_state (unnamed)" in line
    assert "looked for mug_pos.0/1/2 or mug_pos.x/y/z" in line


def test_a_run_of_the_wrong_length_is_called_out(lerobot):
    with pytest.raises(DatasetError, match=r"observation\.state names 3 dimensions of ee_pos "
                                           r"\(ee_pos\.x, ee_pos\.y, ee_pos\.z\), not 4"):
        lerobot.resolve([("ee_pos", 4)])
    spec = PlannerSpec(name="p", kind="regression", action_dim=4, horizon=8, n_obs_steps=1,
                       features=(Feature("ee_pos", (2,), "state"),))
    with pytest.raises(DatasetError, match=r"the policy needs ee_pos \(size 2\).*names 3 "
                                           r"dimensions of ee_pos"):
        check_policy_features(lerobot, spec, "the policy")
