"""The table of malformed inputs (issue 18): every row runs the real entry point `app.cli.main`
in-process and must end in exit code 2 and ONE stderr line `planscope: error: ...` holding the
expected text, with no traceback, and must leave nothing behind (no --out, no tag sidecar, no
payload run). docs/malformed-inputs.md is generated from ROWS (`python -m tests.test_malformed_inputs`)
and checked against it here.

Placeholders in argv: {name} is a path from tests/malformed/materials.py, {out} a fresh path in an
empty folder, {missing} a path in a folder that does not exist.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import NamedTuple

import pytest

pytest.importorskip("pybullet")

from app.cli import main  # noqa: E402
from tests.malformed.materials import build, register_plugins  # noqa: E402

P = "malformed_plugins"
SAMPLE = ["sample", "--scene", "mug_grasp", "--num", "8", "--threads", "1", "--policy"]
TRAIN = ["train", "--kind", "regression", "--epochs", "1", "--out", "{out}", "--data"]
AT = ["sample", "--policy", "{ckpt_good}", "--num", "4", "--threads", "1"]      # + --data --episode --frame
AT_FRAME = [*AT, "--episode", "0", "--frame", "0", "--data"]


class Row(NamedTuple):
    group: str
    what: str
    argv: list[str]
    message: str


ROWS: list[Row] = [
    # ---- recordings (read by train; report; review-free paths) ----
    Row("recording", "missing file", [*TRAIN, "{missing}"], "does not exist"),
    Row("recording", "a folder given as the file", [*TRAIN, "{folder}"], "is a folder, not a recording file"),
    Row("recording", "empty file", [*TRAIN, "{empty}"], "empty file"),
    Row("recording", "CSV text named .h5", [*TRAIN, "{text}"], "not an HDF5 file"),
    Row("recording", "truncated HDF5", [*TRAIN, "{truncated}"], "truncated"),
    Row("recording", "future schema version", [*TRAIN, "{future}"], "newer than this planscope"),
    Row("recording", "another program's HDF5 (format attribute)", [*TRAIN, "{foreign}"], "is not a"),
    Row("recording", "HDF5 without a data group", [*TRAIN, "{nodata}"], "no 'data' group"),
    Row("recording", "actions of rank 1 [T]", [*TRAIN, "{actions_rank1}"],
        "rollout 1: dataset 'actions' has shape (12,), expected [T, D]"),
    Row("recording", "actions of rank 3 [T, D, 1]", [*TRAIN, "{actions_rank3}"],
        "rollout 1: dataset 'actions' has shape (12, 4, 1), expected [T, D]"),
    Row("recording", "actions stored as strings", [*TRAIN, "{actions_text}"],
        "rollout 1: dataset 'actions' has dtype |S3 (not numbers)"),
    Row("recording", "an observation one step longer than the actions", [*TRAIN, "{obs_length}"],
        "rollout 1: dataset 'obs/ee_pos' has 13 steps but 'actions' has 12"),
    Row("recording", "states one step short", [*TRAIN, "{states_length}"],
        "rollout 1: dataset 'states' has 11 steps but 'actions' has 12"),
    Row("recording", "report of a demo recording (not an evaluation)", ["report", "{good}", "--out", "{out}"],
        "evaluation"),
    Row("recording", "report of a truncated file", ["report", "{truncated}", "--out", "{out}"], "truncated"),
    # ---- checkpoints ----
    Row("checkpoint", "folder that does not exist", [*SAMPLE, "{missing}"], "does not exist"),
    Row("checkpoint", "folder without config.json", [*SAMPLE, "{ckpt_no_config}"], "config.json"),
    Row("checkpoint", "config.json not JSON", [*SAMPLE, "{ckpt_bad_json}"], "not valid JSON"),
    Row("checkpoint", "config.json of another format", [*SAMPLE, "{ckpt_format}"], "not a planscope checkpoint"),
    Row("checkpoint", "future checkpoint format version", [*SAMPLE, "{ckpt_version}"], "format version 9"),
    Row("checkpoint", "unknown kind", [*SAMPLE, "{ckpt_kind}"], "kind 'transformer' is not one of"),
    Row("checkpoint", "weights file missing", [*SAMPLE, "{ckpt_no_weights}"], "has no model.safetensors"),
    Row("checkpoint", "weights file truncated", [*SAMPLE, "{ckpt_trunc_weights}"], "corrupt weights file"),
    Row("checkpoint", "normalizer.json not an object", [*SAMPLE, "{ckpt_bad_normalizer}"], "normalizer.json"),
    Row("checkpoint", "weights of another size than config.json says", [*SAMPLE, "{ckpt_wrong_shape}"],
        "weights do not match config.json"),
    Row("checkpoint", "a bare .safetensors file instead of the folder", [*SAMPLE, "{ckpt_file}"],
        "weights.safetensors"),
    Row("checkpoint", "a pickle that would run a shell command", [*SAMPLE, "{ckpt_pickle}"], "evil.ckpt"),
    # ---- plugin planners (module:attr) ----
    Row("plugin", "module that does not exist", [*SAMPLE, "no_such_module_xyz:make"], "cannot import module"),
    Row("plugin", "attribute that does not exist", [*SAMPLE, f"{P}:nothing"], "has no attribute 'nothing'"),
    Row("plugin", "factory raises", [*SAMPLE, f"{P}:factory_raises"], "calling factory_raises() failed: KeyError"),
    Row("plugin", "object without plan()", [*SAMPLE, f"{P}:no_plan"], "has no plan() method"),
    Row("plugin", "plan() raises", [*SAMPLE, f"{P}:raises"],
        "planner 'broken' failed: ZeroDivisionError: division by zero"),
    Row("plugin", "3 plans when 8 were asked", [*SAMPLE, f"{P}:three"], "returned 3 plans, 8 were asked for"),
    Row("plugin", "horizon 8 when the spec says 16", [*SAMPLE, f"{P}:short"], "with horizon 8, its spec says 16"),
    Row("plugin", "a bare ndarray instead of a PlanBatch", [*SAMPLE, f"{P}:bare"], "not a PlanBatch"),
    Row("plugin", "rank-2 plans [N, H]", [*SAMPLE, f"{P}:rank2"], "plans must be [N,H,D], got shape (8, 16)"),
    Row("plugin", "plans [N, H, 3] for a 4-D action space", [*SAMPLE, f"{P}:dim3"], "planner 'broken' returned plans"),
    Row("plugin", "spec.kind not an allowed value", [*SAMPLE, f"{P}:bad_kind"], "kind"),
    Row("plugin", "spec.obs_keys as plain strings", [*SAMPLE, f"{P}:string_keys"], "obs_keys"),
    # ---- data sets (LeRobot v3 folders, read by export) ----
    Row("data set", "LeRobot folder without meta/info.json", ["export", "{ds_no_info}", "--to", "lerobot", "{out}"],
        "ds_no_info"),
    Row("data set", "meta/info.json not JSON", ["export", "{ds_bad_info}", "--to", "lerobot", "{out}"], "info.json"),
    Row("data set", "unsupported codebase version", ["export", "{ds_version}", "--to", "lerobot", "{out}"], "v9.0"),
    Row("data set", "data/ folder missing", ["export", "{ds_no_data}", "--to", "lerobot", "{out}"], "ds_no_data"),
    Row("data set", "corrupt parquet file", ["export", "{ds_bad_parquet}", "--to", "lerobot", "{out}"], "parquet"),
    Row("data set", "LeRobot v2.1 layout (per-episode parquet, meta/episodes.jsonl)", [*AT_FRAME, "{ds_v21}"],
        "LeRobotDataset v2.1 is the older per-episode layout; convert it with LeRobot's convert_dataset_v21_to_v30"),
    Row("data set", "meta/info.json without codebase_version", [*AT_FRAME, "{ds_no_version}"],
        "info.json: unknown codebase_version ''; planscope reads LeRobotDataset v3.x"),
    Row("data set", "a data parquet file missing", [*AT_FRAME, "{ds_no_data_file}"],
        "file-000.parquet: missing parquet file"),
    Row("data set", "truncated mp4 video segment", ["export", "{ds_bad_video}", "--to", "lerobot", "--camera", "front",
                                                    "{out}"],
        "file-000.mp4: cannot open video (Invalid data found when processing input); truncated or not a video"),
    Row("data set", "zarr store without meta/episode_ends", [*AT_FRAME, "{zarr_no_ends}"],
        "zarr_no_ends.zarr: no meta/episode_ends; not a diffusion_policy replay buffer"),
    Row("data set", "zarr meta/episode_ends that decrease", [*AT_FRAME, "{zarr_ends_order}"],
        "meta/episode_ends decreases at episode 1 (19 then 7)"),
    Row("data set", "sample --data with a policy whose keys the data lacks", [*AT_FRAME, "{zarr_good}"],
        "policy 'mug_grasp_regression' needs ee_pos (size 3) but the data set has no such feature"),
    Row("data set", "sample --data --episode out of range", [*AT, "--data", "{ds_good}", "--episode", "99",
                                                             "--frame", "0"],
        "ds_good: no episode 99 (the data set has 3 episodes, 0..2)"),
    Row("data set", "sample --data --frame out of range", [*AT, "--data", "{ds_good}", "--episode", "0",
                                                           "--frame", "999"],
        "ds_good: episode 0 has no frame 999 (it has 8 frames, 0..7)"),
    Row("data set", "scan --data on a text file", ["scan", "--policy", "{ckpt_good}", "--data", "{text}",
                                                   "--out", "{out}.h5"], "text.h5: not an HDF5 file"),
    Row("data set", "scan --data on a folder that is not a data set", ["scan", "--policy", "{ckpt_good}",
                                                                       "--data", "{folder}", "--out", "{out}.h5"],
        "a_folder: not a data set planscope reads"),
    # ---- command-line options ----
    Row("option", "export --to lerobot into an existing folder, no --force", ["export", "{good}", "--to", "lerobot",
                                                                               "{ds_exists}"],
        "ds_exists: folder exists; pass --force"),
    Row("option", "--out in a folder that does not exist", ["report", "{good}", "--out", "{missing}"],
        "does not exist (create it first)"),
    Row("option", "--out that already exists, no --force", ["train", "--kind", "regression", "--data", "{good}",
                                                            "--out", "{ckpt_no_config}"], "folder exists; pass --force"),
    Row("option", "train --out onto an existing file", ["train", "--kind", "regression", "--data", "{good}",
                                                        "--out", "{good}"], "is a file, expected a folder path"),
    Row("option", "snapshot --out not a .png", ["snapshot", "--out", "{out}"], "expected a .png file"),
    Row("option", "snapshot --recording a folder", ["snapshot", "--view", "review", "--recording", "{folder}",
                                                    "--out", "{out}.png"], "is a folder, not a recording (.h5)"),
    Row("option", "sample --num 0", [*SAMPLE, "probe", "--num", "0"], "--num must be >= 1"),
    Row("option", "sample --threads 0", [*SAMPLE, "probe", "--threads", "0"], "--threads must be >= 1"),
    Row("option", "sample --solver unknown", [*SAMPLE, "probe", "--solver", "euler"], "unknown solver 'euler'"),
    Row("option", "sample --policy probe --scene nope", [*SAMPLE, "probe", "--scene", "nope"], "unknown scene 'nope'"),
    Row("option", "sample --scene that does not exist", [*SAMPLE, "{ckpt_good}", "--scene", "nope"], "unknown scene 'nope'"),
    Row("option", "train --down-dims not integers", ["train", "--kind", "diffusion", "--data", "{good}",
                                                     "--out", "{out}", "--down-dims", "a,b"],
        "expected comma-separated integers"),
    Row("option", "snapshot --size not WxH", ["snapshot", "--out", "{out}.png", "--size", "big"], "expected WxH"),
    Row("option", "collect --mode-mix not numbers", ["collect", "--scene", "mug_grasp", "--episodes", "1",
                                                     "--mode-mix", "a,b", "--out", "{out}.h5"],
        "must be comma-separated numbers"),
]


@pytest.fixture(scope="module")
def materials(tmp_path_factory):
    register_plugins()
    return build(tmp_path_factory.mktemp("malformed"))


def _fill(argv: list[str], materials: dict[str, str], tmp: Path) -> list[str]:
    values = dict(materials, out=str(tmp / "out"), missing=str(tmp / "no-such-folder" / "x"))
    return [a.format(**values) for a in argv]


@pytest.mark.parametrize("row", ROWS, ids=[f"{r.group}: {r.what}" for r in ROWS])
def test_malformed_input_is_one_line_and_exit_2(row, materials, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("PLANSCOPE_TAGS_DIR", str(tmp_path / "user-tags"))
    argv = _fill(row.argv, materials, tmp_path)
    before = {p: sorted(os.listdir(p)) for p in {os.path.dirname(materials["good"])}}
    code = main(argv)
    captured = capsys.readouterr()
    err = captured.err.strip()
    assert code == 2, (code, err, captured.out[-500:])
    assert "Traceback" not in captured.err + captured.out
    assert err.startswith("planscope: error: ") and len(err.splitlines()) == 1, err
    assert row.message in err, err
    left = sorted(p.name for p in tmp_path.iterdir() if p.name != "user-tags")
    assert left == [], f"a refused run left {left} behind (its --out, a temporary file)"
    assert not os.path.exists(materials["pickle_marker"]), "the pickle's payload ran"
    after = {p: sorted(os.listdir(p)) for p in before}
    assert after == before, "something was created next to the inputs"


def test_the_table_is_big_enough_and_documented():
    groups = {r.group for r in ROWS}
    assert len(ROWS) >= 40 and groups == {"recording", "checkpoint", "plugin", "data set", "option"}
    doc = Path(__file__).resolve().parents[1] / "docs" / "malformed-inputs.md"
    assert doc.read_text() == render_doc(), "regenerate: python -m tests.test_malformed_inputs"


def render_doc() -> str:
    lines = ["# Malformed inputs", "",
             "Generated from `tests/test_malformed_inputs.py` (`python -m tests.test_malformed_inputs`);",
             "the test runs every row through `app.cli.main` and requires exit code 2, one stderr line",
             "`planscope: error: ...` containing the expected text, no traceback, and nothing left behind",
             "(no output, no tag sidecar next to the input, no pickle payload run).", "",
             f"{len(ROWS)} rows: " + ", ".join(f"{sum(r.group == g for r in ROWS)} {g}"
                                               for g in dict.fromkeys(r.group for r in ROWS)) + ".", "",
             "| # | Input | Malformed | Command | Expected in the one line |", "| --- | --- | --- | --- | --- |"]
    for i, r in enumerate(ROWS, 1):
        cmd = " ".join(r.argv).replace("|", "\\|")
        lines.append(f"| {i} | {r.group} | {r.what} | `planscope {cmd}` | {r.message.replace('|', chr(92) + '|')} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    out = Path(__file__).resolve().parents[1] / "docs" / "malformed-inputs.md"
    out.write_text(render_doc())
    print(f"wrote {out} ({len(ROWS)} rows)", file=sys.stderr)
