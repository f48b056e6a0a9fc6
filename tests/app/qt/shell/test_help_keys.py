"""Issue 20: F1 lists every key grouped by workspace, each key once per group, in the window
`planscope` builds (every registered workspace installed)."""
from __future__ import annotations

from PySide6 import QtCore, QtWidgets

from app.core.review.tags import TAXONOMY


def test_f1_lists_the_keys_grouped_by_workspace(qtbot, qapp, monkeypatch):
    from app.core.scene_session import SceneSession
    from app.qt import registry
    from tests.app.inspector_fakes import FakeScene
    shown: list[str] = []
    monkeypatch.setattr(QtWidgets.QMessageBox, "information",
                        lambda _parent, title, text: shown.append(text))
    win = registry.main_window(SceneSession("mug_grasp", factory=lambda _n: FakeScene()),
                               restore_layout=False)
    qtbot.addWidget(win)
    win.show()
    qtbot.waitExposed(win)
    groups = win.shortcut_groups()
    assert list(groups)[0] == "Everywhere" and {"Review", "Inspector"} <= set(groups)
    review = dict(groups["Review"])
    for key in ["Space", "Left", "Right", "N", "P", "E", "Del", "Ctrl+Z",
                *[str(n) for n in range(1, 9)]]:
        assert key in review, key
    assert review["3"] == f"tag {TAXONOMY[2]}" and "undo" in review["Ctrl+Z"]
    inspector = [text for _k, text in groups["Inspector"]]
    assert "Sample plans" in inspector and "Isolate mode 1" in inspector
    assert not any("Sample plans" == text for _k, text in groups["Everywhere"])
    for group, rows in groups.items():
        keys = [k for k, _ in rows]
        assert len(keys) == len(set(keys)), (group, keys)        # one meaning per key and group
    assert "F1" in dict(groups["Everywhere"])
    win.activateWindow()
    qtbot.waitUntil(win.isActiveWindow, timeout=2000)
    qtbot.keyClick(win, QtCore.Qt.Key.Key_F1)
    assert len(shown) == 1
    text = shown[0]
    for group in groups:
        assert f"<u>{group}</u>" in text
    assert "Focus" in text and "Esc" in text                       # the focus model, in words
    win.close()
