"""A data set given where a policy goes is named as a data set (one line), not reported as a
checkpoint missing its config.json."""
from __future__ import annotations

from pathlib import Path

import pytest

from planners import load_planner
from planners.protocol import PlannerError

DATA = Path(__file__).resolve().parents[1] / "recordings" / "formats" / "data"


@pytest.mark.parametrize("path, kind", [
    (DATA / "dp_replay" / "buffer_v2.zarr", "a zarr replay buffer"),        # written by diffusion_policy
    (DATA / "lerobot_v3" / "dataset", "a LeRobot data set folder"),          # written by LeRobot
    (DATA / "planscope_export" / "demos.h5", "an HDF5 recording"),
])
def test_a_data_set_as_the_policy_says_it_is_a_data_set(path, kind) -> None:
    assert path.exists()
    with pytest.raises(PlannerError) as info:
        load_planner(path)
    message = str(info.value)
    assert f"this is a data set ({kind}), not a policy" in message and "\n" not in message
    assert "config.json" not in message


def test_an_empty_folder_is_still_a_checkpoint_missing_its_files(tmp_path) -> None:
    with pytest.raises(PlannerError, match="config.json"):
        load_planner(tmp_path)
