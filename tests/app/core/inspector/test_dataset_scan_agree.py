"""One reading of a recorded frame: `planscope sample --data DS --episode E --frame F --seed S`
(the dataset-conditioned inspector) and a one-episode `planscope scan --seed S` (the dataset scan)
draw the same noise there, build the same local data modes (shares read at the query state where
the state predicts the mode) and give the same plans, verdict and numbers, for a policy that keeps
both sides and one that collapses onto one (tiny policies from tests/trained_policies.py)."""
from __future__ import annotations

import json

import numpy as np
import pytest

from app.cli import main
from recordings.formats.scan_reader import ScanReader

NUM, K, SEED, EPISODE = 16, 8, 5, 2


def _flag_of(verdict: str) -> dict[str, int]:
    return {"collapsed": int(verdict == "collapsed"), "averaged": int(verdict == "averaging"),
            "off_data": int(verdict == "no-mode"), "invalid": int(verdict == "invalid")}


def test_frame_seed_is_the_scans():
    from app.core.scan.config import frame_seed as scan_seed
    from planners.frame_metrics import frame_noise, frame_seed

    for args in ((0, 0, 0), (5, 2, 10), (123, 7, 3)):
        assert frame_seed(*args) == scan_seed(*args)
    s, noise = frame_noise(5, 2, 10, 4, 3, 2)
    assert s == scan_seed(5, 2, 10) and noise.shape == (4, 3, 2) and noise.dtype == np.float32
    np.testing.assert_array_equal(
        noise, np.random.default_rng(s).standard_normal((4, 3, 2)).astype(np.float32))


@pytest.fixture(scope="module")
def scanned(tmp_path_factory, bimodal_h5, bimodal_ckpt, one_mode_ckpt):
    out = tmp_path_factory.mktemp("agree") / "scan.h5"
    assert main(["scan", "--policy", str(bimodal_ckpt), "--policy", str(one_mode_ckpt),
                 "--data", bimodal_h5, "--episodes", f"{EPISODE}:{EPISODE + 1}", "--every", "10",
                 "--num", str(NUM), "--neighbours", str(K), "--seed", str(SEED), "--keep-plans",
                 "--workers", "0", "--quiet", "--out", str(out)]) == 0
    with ScanReader(out) as r:
        return {name: r.column(name) for name in
                ("frame", "plans", "coverage", "missed_share", "off_data_share", "averaging",
                 "collapsed", "averaged", "off_data", "invalid", "data_modes")}


@pytest.mark.parametrize("policy", [0, 1])
def test_sample_at_a_frame_reads_what_the_scan_read(scanned, capsys, policy, bimodal_h5,
                                                    bimodal_ckpt, one_mode_ckpt):
    from app.core.inspector.dataset_source import DatasetSource
    from planners import load_planner

    ckpt = str((bimodal_ckpt, one_mode_ckpt)[policy])
    source = DatasetSource(bimodal_h5, load_planner(ckpt), neighbours=K)
    verdicts = []
    for row, frame in enumerate(scanned["frame"].tolist()):
        capsys.readouterr()
        assert main(["sample", "--policy", ckpt, "--data", bimodal_h5, "--episode", str(EPISODE),
                     "--frame", str(frame), "--num", str(NUM), "--neighbours", str(K),
                     "--seed", str(SEED), "--json"]) == 0
        s = json.loads(capsys.readouterr().out)
        r = source.inspect(EPISODE, frame, NUM, seed=SEED)
        # same noise: the same plans, up to float rounding (the scan may batch several frames
        # into one sampler call, which changes the summation order)
        np.testing.assert_allclose(r.plans, scanned["plans"][row, policy], atol=1e-5)
        assert s["verdict"] == r.verdict and s["reason"] == r.reason
        for flag, value in _flag_of(s["verdict"]).items():
            assert scanned[flag][row, policy] == value, (frame, s["verdict"], flag)
        for col, key in (("coverage", "coverage"), ("missed_share", "missed_share"),
                         ("off_data_share", "no_mode_share"), ("averaging", "averaging_score")):
            want = scanned[col][row, policy]
            assert (s[key] is None and np.isnan(want)) or s[key] == pytest.approx(want, abs=1e-4)
        assert len(s["modes"]) == scanned["data_modes"][row, policy]
        # the shares the verdict judged, each with its 95 % interval, on both sides
        for m in s["modes"]:
            lo, hi = m["interval"]
            dlo, dhi = m["data_interval"]
            assert lo <= m["share"] <= hi and dlo <= m["data_share"] <= dhi
            assert m["share"] == pytest.approx(r.shares[m["mode"]], abs=1e-4)
            assert m["data_share"] == pytest.approx(r.data_shares[m["mode"]], abs=1e-4)
        assert s["compared_against"] in s["reason"]
        assert ("shares read at this state" in s["reason"]) == s["shares_state_conditional"]
        verdicts.append(s["verdict"])
    if policy == 1:           # the left-only policy at the first frame, where the data is 50/50
        assert verdicts[0] == "collapsed"
