"""`scan --out F --force` replaces F at the start (the partial scan file is the crash-safe
record), so an --out that is not a scan file — e.g. the demonstrations' own .h5 typed by
mistake — is refused before any work: a cancelled `scan --out demos.h5 --force` had left a
12 KB partial scan where the recording was."""
from __future__ import annotations

import os

import pytest

from app.cli import main
from app.core.scan.config import ScanConfigError
from app.core.scan.engine import check_output
from tests.app.core.scan.scan_fixture import write_scan


def test_force_and_resume_apply_to_scan_files_only(tmp_path):
    recording = tmp_path / "demos.h5"
    recording.write_bytes(b"\x89HDF\r\n\x1a\n" + b"\0" * 100)
    for flags in ({"resume": False, "force": True}, {"resume": True, "force": False}):
        with pytest.raises(ScanConfigError, match="is not a scan file"):
            check_output(str(recording), **flags)
    scan = write_scan(tmp_path / "scan.h5", episodes=2, length=4)
    assert check_output(scan, resume=False, force=True) == os.path.abspath(scan)
    assert check_output(str(tmp_path / "new.h5"), resume=False) == str(tmp_path / "new.h5")


def test_the_cli_leaves_the_recording_alone(tmp_path, capsys):
    from tests.recordings.formats.helpers import EXPORT_DIR
    recording = tmp_path / "demos.h5"
    data = open(os.path.join(EXPORT_DIR, "demos.h5"), "rb").read()
    recording.write_bytes(data)
    code = main(["scan", "--policy", "probe", "--data", str(recording), "--out", str(recording),
                 "--force"])
    err = capsys.readouterr().err.strip()
    assert code == 2 and err.count("\n") == 0 and "is not a scan file" in err
    assert recording.read_bytes() == data and sorted(os.listdir(tmp_path)) == ["demos.h5"]
