"""Issue 20, exports for slides: File > Export > Export size (1x, 2x, 1280 or 1920 px wide) for the
PNG, MP4 and GIF exports. A larger export is drawn at that resolution, not magnified: the 2x
image of the chain view has detail no pixel-doubled image has."""
from __future__ import annotations

import numpy as np
import pytest

from app.qt.inspector import export
from app.qt.inspector.export import ExportError, ExportSize
from tests.app.qt.inspector.test_workspace import load, window  # noqa: F401  (fixture)


def pixels(path) -> np.ndarray:
    from PySide6 import QtGui
    return export.qimage_to_array(QtGui.QImage(str(path)))


def within_pair_changes(image: np.ndarray) -> float:
    """Colour changes between columns 2k and 2k+1, relative to those between 2k+1 and 2k+2:
    0 for a pixel-doubled image (each pair is one source pixel), ~1 for a real rendering."""
    w = image.shape[1] // 2 * 2 - 2
    within = (image[:, 0:w:2] != image[:, 1:w + 1:2]).any(axis=-1).sum()
    across = (image[:, 1:w + 1:2] != image[:, 2:w + 2:2]).any(axis=-1).sum()
    return float(within) / max(float(across), 1.0)


def test_export_size_choices_are_checked():
    assert ExportSize(2.0).scale_for(700) == 2.0
    assert ExportSize(width=1400).scale_for(700) == 2.0
    assert ExportSize().gif_width() == export.GIF_WIDTH and ExportSize(width=640).gif_width() == 640
    for bad in (dict(scale=0.1), dict(scale=9.0), dict(scale=None), dict(width=10)):
        with pytest.raises(ExportError):
            ExportSize(**bad)


def test_png_at_2x_and_at_a_width_is_drawn_at_that_resolution(qtbot, window, tmp_path):  # noqa: F811
    ws = load(qtbot, window)
    chain = ws.chain_view
    one = pixels(export.save_png(chain, tmp_path / "one.png"))
    two = pixels(export.save_png(chain, tmp_path / "two.png", size=ExportSize(2.0)))
    assert one.shape[1] == chain.width() and two.shape[1] == 2 * chain.width()
    # text and lines drawn at 2x: not a pixel-doubled copy of the 1x image
    assert within_pair_changes(np.repeat(one, 2, 1)) == 0.0
    assert within_pair_changes(two) > 0.1     # text, axes at 2x (the plans raster is magnified)
    scene = pixels(export.save_png(window.scene_view, tmp_path / "scene.png",
                                   size=ExportSize(width=1280)))
    assert scene.shape[1] == 1280 and scene.std() > 5          # rendered, not a blank image


def test_animation_sizes_for_mp4_and_gif(qtbot, window, tmp_path):  # noqa: F811
    ws = load(qtbot, window)
    views = [ws.chain_view]
    widest = ws.chain_view.width()
    gif = export.animation_frames(ws.state, views, "gif", ExportSize(width=640))
    assert {f.shape[1] for f in gif} == {640}
    mp4 = export.animation_frames(ws.state, views, "mp4", ExportSize(2.0))
    assert {f.shape[1] for f in mp4} == {(2 * widest) // 2 * 2}
    out = export.write_gif(gif, tmp_path / "a.gif")
    import imageio.v2 as imageio
    assert imageio.mimread(str(out))[0].shape[1] == 640      # written at its size, not subsampled
    # the menu's choice is kept in the settings for the next session
    menu = ws.export_menu
    menu.size_actions["1920 px wide"].trigger()
    assert menu.export_size().width == 1920
    again = export.ExportMenu(ws, window.file_menu)
    window.file_menu.removeAction(again.menu.menuAction())
    assert again.export_size().width == 1920
    menu.size_actions["As on screen (1×)"].trigger()       # the module's window as it was
