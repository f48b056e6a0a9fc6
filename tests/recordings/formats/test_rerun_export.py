"""`planscope export F.h5 --to rerun OUT.rrd`, checked against the real thing: the written file is
read back with rerun-sdk's OWN reader (rerun.chunk.RrdReader, the Rust decoder the viewer uses)
and every entity path, timeline and value is compared with the recording it came from.
Bad inputs: one line, exit 2, nothing written (no OUT, no temporary file)."""
from __future__ import annotations

import os
import subprocess
import sys
from collections import defaultdict

import numpy as np
import pytest

from app.cli import main
from app.qt.plots.mode_colors import MODE_HEX, UNLABELLED_HEX
from recordings.header import write_recording
from recordings.reader import RecordingReader
from tests.recordings.helpers import ENV_ARGS, make_rollout

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(
    __file__)))))
LENGTHS = (6, 8, 10)


@pytest.fixture(scope="module")
def recording(tmp_path_factory) -> str:
    """Three rollouts by the real writer: obs ee_pos/gripper/image camera, states, events, replans
    every 4 steps (4 plans of 16 x 4, labelled left/right), chains kept at every other replan."""
    path = str(tmp_path_factory.mktemp("rr") / "rec.h5")
    write_recording(path, [make_rollout(i, steps=n) for i, n in enumerate(LENGTHS)],
                    env_args=ENV_ARGS)
    return path


def read_rrd(path: str) -> dict[str, dict[str, list]]:
    """{entity: {column: [value per row]}} from rerun's own reader, rows sorted by (step,
    denoise_step); static rows under the column name prefixed "static:"."""
    from rerun.chunk import RrdReader

    rows: dict[str, list[dict]] = defaultdict(list)
    static: dict[str, dict] = defaultdict(dict)
    for chunk in RrdReader(path).stream():
        table = chunk.to_record_batch().to_pydict()
        table.pop("rerun.controls.RowId", None)
        n = chunk.num_rows
        for r in range(n):
            row = {k: v[r] for k, v in table.items()}
            if chunk.is_static:
                static[chunk.entity_path].update({f"static:{k}": v for k, v in row.items()})
            else:
                rows[chunk.entity_path].append(row)
    out: dict[str, dict[str, list]] = {}
    for entity in set(rows) | set(static):
        ordered = sorted(rows.get(entity, []), key=lambda r: (r.get("step", -1),
                                                               r.get("denoise_step", -1)))
        cols: dict[str, list] = defaultdict(list)
        for row in ordered:
            for k, v in row.items():
                cols[k].append(v)
        cols.update({k: [v] for k, v in static.get(entity, {}).items()})
        out[entity.lstrip("/")] = dict(cols)
    return out


def expected_entities(reader: RecordingReader) -> set[str]:
    out = {"info"}
    for i, view in enumerate(reader):
        base = f"rollouts/{i}"
        out |= {f"{base}/{e}" for e in ("info", "actions", "obs/ee_pos", "obs/gripper", "states",
                                        "rewards", "ee", "ee_path", "camera/image", "events",
                                        "plans", "plans/executed")}
        for j, rp in enumerate(view.replans):
            if rp.has_chain:
                out |= {f"{base}/replans/{j}/chain", f"{base}/replans/{j}/x0"}
    return out


def rgba(hex_colour: str) -> int:
    """Rerun's packed colour 0xRRGGBBAA."""
    h = hex_colour.lstrip("#")
    return (int(h[0:2], 16) << 24) | (int(h[2:4], 16) << 16) | (int(h[4:6], 16) << 8) | 0xFF


@pytest.fixture(scope="module")
def exported(recording, tmp_path_factory):
    pytest.importorskip("rerun.chunk", reason="rerun-sdk (planscope[rerun] / the test extra) is "
                                              "not installed")
    out = str(tmp_path_factory.mktemp("rrd") / "rec.rrd")
    assert main(["export", recording, "--to", "rerun", out]) == 0
    return out, read_rrd(out)


def test_entity_paths_and_timelines(recording, exported):
    _, got = exported
    with RecordingReader(recording) as reader:
        assert set(got) == expected_entities(reader)
        for i, n in enumerate(LENGTHS):
            base = f"rollouts/{i}"
            for e in ("actions", "obs/ee_pos", "states", "rewards", "ee", "camera/image"):
                assert got[f"{base}/{e}"]["step"] == list(range(n)), e
            assert got[f"{base}/plans"]["step"] == reader.rollout(i).replans.steps.tolist()
            assert "step" not in got[f"{base}/ee_path"]              # static: the whole path
            chain = got[f"{base}/replans/0/chain"]
            assert chain["denoise_step"] == [0, 1, 2, 3, 4] and set(chain["step"]) == {0}
            assert got[f"{base}/replans/0/x0"]["denoise_step"] == [1, 2, 3, 4]


def test_values_equal_the_recording(recording, exported):
    _, got = exported
    with RecordingReader(recording) as reader:
        for i, view in enumerate(reader):
            base = f"rollouts/{i}"
            np.testing.assert_array_equal(got[f"{base}/actions"]["Scalars:scalars"],
                                          view.actions().astype(np.float64))
            assert got[f"{base}/actions"]["static:SeriesLines:names"] == [
                ["x", "y", "z", "gripper"]]
            ee = view.obs("ee_pos")
            np.testing.assert_array_equal(got[f"{base}/obs/ee_pos"]["Scalars:scalars"],
                                          ee.astype(np.float64))
            np.testing.assert_array_equal(got[f"{base}/states"]["Scalars:scalars"],
                                          view.states().astype(np.float64))
            np.testing.assert_array_equal(np.ravel(got[f"{base}/rewards"]["Scalars:scalars"]),
                                          view.rewards())
            np.testing.assert_array_equal(np.asarray(got[f"{base}/ee"]["Points3D:positions"])[:, 0],
                                          ee.astype(np.float32))
            np.testing.assert_array_equal(
                got[f"{base}/ee_path"]["static:LineStrips3D:strips"][0][0], ee.astype(np.float32))
            image = view.obs("image")
            assert got[f"{base}/camera/image"]["static:Image:format"][0][0]["width"] == image.shape[2]
            np.testing.assert_array_equal(np.asarray(got[f"{base}/camera/image"]["Image:buffer"]
                                                     ).reshape(image.shape), image)
            assert got[f"{base}/events"]["step"] == [e.step for e in view.events]
            assert got[f"{base}/events"]["TextLog:text"][0] == [\
                f'contact panda,mug {{"force": {1.5 + i}}}']


def test_plans_chains_and_mode_colours(recording, exported):
    _, got = exported
    colour = {"left": rgba(MODE_HEX[0]), "right": rgba(MODE_HEX[1]), "": rgba(UNLABELLED_HEX)}
    with RecordingReader(recording) as reader:
        for i, view in enumerate(reader):
            base = f"rollouts/{i}"
            plans = got[f"{base}/plans"]
            for j, rp in enumerate(view.replans):
                np.testing.assert_array_equal(np.asarray(plans["LineStrips3D:strips"][j]),
                                              rp.samples[..., :3])
                assert plans["LineStrips3D:labels"][j] == rp.mode_labels
                assert plans["LineStrips3D:colors"][j] == [colour[m] for m in rp.mode_labels]
                np.testing.assert_array_equal(
                    np.asarray(got[f"{base}/plans/executed"]["LineStrips3D:strips"][j][0]),
                    rp.executed_chunk[:, :3])
                if not rp.has_chain:
                    continue
                for name, arr in (("chain", rp.chain), ("x0", rp.x0_estimates)):
                    strips = got[f"{base}/replans/{j}/{name}"]["LineStrips3D:strips"]
                    np.testing.assert_array_equal(np.asarray(strips), arr[..., :3])


def test_info_documents(exported):
    _, got = exported
    text = got["rollouts/1/info"]["static:TextDocument:text"][0][0]
    assert "**seed**: 101" in text and "**mode**: right" in text and "obs_noise" in text
    assert "**rollouts**: 3" in got["info"]["static:TextDocument:text"][0][0]


def test_existing_out_needs_force_and_force_replaces(recording, exported, capsys):
    out, _ = exported
    before = open(out, "rb").read()
    capsys.readouterr()
    assert main(["export", recording, "--to", "rerun", out]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "file exists; pass --force" in err
    assert open(out, "rb").read() == before
    assert main(["export", recording, "--to", "rerun", out, "--force"]) == 0
    assert set(read_rrd(out)) == set(exported[1])
    assert sorted(os.listdir(os.path.dirname(out))) == ["rec.rrd"]        # no temporary left


@pytest.mark.parametrize("case", ["not_hdf5", "folder", "no_data_group", "wrong_suffix"])
def test_bad_input_is_one_line_and_nothing_written(tmp_path, capsys, case):
    pytest.importorskip("rerun", reason="the extra is checked first")
    out = tmp_path / "out" / "x.rrd"
    out.parent.mkdir()
    src = tmp_path / "src.h5"
    if case == "not_hdf5":
        src.write_text("not a recording")
        want = "not an HDF5 file"
    elif case == "folder":
        src = tmp_path / "lerobot_folder"
        src.mkdir()
        want = "a folder; --to rerun exports a planscope or robomimic recording"
    elif case == "no_data_group":
        import h5py
        with h5py.File(src, "w") as f:
            f.create_dataset("x", data=[1])
        want = "no 'data' group"
    else:
        write_recording(str(src), [make_rollout(0, steps=4)], env_args=ENV_ARGS)
        out = out.with_suffix(".h5")
        want = "expected a .rrd file"
    assert main(["export", str(src), "--to", "rerun", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and err.startswith("planscope: error: ") and want in err, err
    assert os.listdir(out.parent) == []


def test_a_failure_while_writing_leaves_nothing(recording, tmp_path, monkeypatch):
    pytest.importorskip("rerun")
    from recordings.formats import rerun_export

    calls = []

    def fail_on_second(w, i, view, cameras):
        calls.append(i)
        if i == 1:
            raise OSError("disk full")
        return 0
    monkeypatch.setattr(rerun_export, "_write_rollout", fail_on_second)
    with pytest.raises(OSError, match="disk full"):
        rerun_export.export_rerun(recording, str(tmp_path / "x.rrd"), palette=MODE_HEX,
                                  unlabelled=UNLABELLED_HEX)
    assert calls == [0, 1] and os.listdir(tmp_path) == []


def test_missing_extra_is_one_line_naming_the_install(recording, tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "rerun", None)       # `import rerun` raises ImportError
    out = tmp_path / "x.rrd"
    assert main(["export", recording, "--to", "rerun", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert err == ("planscope: error: export --to rerun needs the optional rerun-sdk, which is "
                   "not installed: pip install 'planscope[rerun]'")
    assert not out.exists()


def test_rerun_is_imported_only_when_exporting():
    code = ("import sys, app.cli, app.commands.export, recordings.formats.rerun_export; "
            "app.cli.build_parser(); print('rerun' in sys.modules)")
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "False"


def test_a_plain_robomimic_file(tmp_path):
    """robomimic's documented layout (data/demo_i/actions, obs/<key>, states; here without
    rewards): 7-D actions as numbered series, the hand from robot0_eef_pos, the agent-view
    camera; no replans, so no plans."""
    pytest.importorskip("rerun.chunk")
    import h5py

    rng = np.random.default_rng(0)
    src = tmp_path / "lift.h5"
    with h5py.File(src, "w") as f:
        data = f.create_group("data")
        data.attrs["env_args"] = '{"env_name": "Lift", "type": 1}'
        for i in range(2):
            g = data.create_group(f"demo_{i}")
            g["actions"] = rng.normal(size=(5, 7))
            g["obs/robot0_eef_pos"] = rng.normal(size=(5, 3))
            g["obs/agentview_image"] = rng.integers(0, 255, (5, 8, 6, 3), dtype=np.uint8)
            g["states"] = rng.normal(size=(5, 10))
            g["dones"] = np.arange(5) == 4
    out = tmp_path / "lift.rrd"
    assert main(["export", str(src), "--to", "rerun", str(out)]) == 0
    got = read_rrd(str(out))
    assert set(got) == {"info"} | {f"rollouts/{i}/{e}" for i in range(2) for e in (
        "info", "actions", "obs/robot0_eef_pos", "states", "ee", "ee_path",
        "camera/agentview_image")}
    with h5py.File(src) as f:
        np.testing.assert_array_equal(got["rollouts/1/actions"]["Scalars:scalars"],
                                      f["data/demo_1/actions"][()])
        assert got["rollouts/1/actions"]["static:SeriesLines:names"] == [
            [f"action.{k}" for k in range(7)]]
        np.testing.assert_array_equal(np.asarray(got["rollouts/1/ee"]["Points3D:positions"])[:, 0],
                                      f["data/demo_1/obs/robot0_eef_pos"][()].astype(np.float32))
        np.testing.assert_array_equal(
            np.asarray(got["rollouts/0/camera/agentview_image"]["Image:buffer"]).reshape(5, 8, 6, 3),
            f["data/demo_0/obs/agentview_image"][()])
