"""Scene view: the mirror draws bodies where the scene puts them and follows their poses;
plus the PySide6/pyqtgraph painting crash guard."""
from __future__ import annotations

import numpy as np
import pytest
from PySide6 import QtGui

from app.qt.shell.scene_view import BACKGROUND, SceneView
from tests.app.shell_fakes import MUG_POS, ROBOT_POS

W, H = 400, 300


def project(view: SceneView, point, width: int, height: int) -> tuple[int, int]:
    """Pixel (x, y) of a world point in a width x height rendering of `view`."""
    region = (0, 0, width, height)
    mvp = view.projectionMatrix(region, region) * view.viewMatrix()
    ndc = mvp.map(QtGui.QVector3D(*map(float, point)))
    return int((ndc.x() + 1) / 2 * width), int((1 - ndc.y()) / 2 * height)


def patch(image: np.ndarray, xy: tuple[int, int], r: int = 6) -> np.ndarray:
    x, y = xy
    assert r <= x < image.shape[1] - r and r <= y < image.shape[0] - r, f"{xy} off screen"
    return image[y - r:y + r + 1, x - r:x + r + 1, :3].astype(int)


def orange_share(pixels: np.ndarray) -> float:
    r, g, b = pixels[..., 0], pixels[..., 1], pixels[..., 2]
    return float(np.mean((r > 120) & (g > 40) & (g < r - 40) & (b < 0.5 * g + 20)))


def background_share(pixels: np.ndarray) -> float:
    return float(np.mean(np.abs(pixels - np.array(BACKGROUND)).max(axis=-1) < 12))


@pytest.fixture
def view(qtbot, fake_scene_session):
    widget = SceneView()
    qtbot.addWidget(widget)
    widget.resize(W, H)
    widget.show()
    qtbot.waitExposed(widget)
    session = fake_scene_session
    session.load()
    widget.set_scene(session.describe(), session.link_poses())
    widget.set_pose_source(session.link_poses)
    return widget


def test_pyqtgraph_plot_widget_paints(qtbot):
    """PySide6 6.12.0 + pyqtgraph 0.14.0 crash painting an axis: keep this passing."""
    import pyqtgraph as pg

    plot = pg.PlotWidget()
    qtbot.addWidget(plot)
    plot.plot(np.arange(50), np.sin(np.arange(50) / 5.0), pen="c")
    plot.setLabel("bottom", "step", units="s")
    plot.resize(300, 200)
    plot.show()
    qtbot.waitExposed(plot)
    image = plot.grab().toImage()
    pixels = np.array([[image.pixelColor(x, y).red() for x in range(0, 300, 7)]
                       for y in range(0, 200, 7)])
    assert pixels.std() > 5, "plot painted a uniform image"


def test_robot_occupies_its_projected_region(view):
    image = view.render_image(W, H)
    assert image.shape == (H, W, 4)
    robot_px = project(view, ROBOT_POS, W, H)
    assert orange_share(patch(image, robot_px)) > 0.8
    # the mug is red, not orange, and above the robot there is only background (and grid)
    assert orange_share(patch(image, project(view, MUG_POS, W, H), 3)) < 0.2
    sky = patch(image, project(view, (0.3, 0.0, 0.8), W, H))
    assert orange_share(sky) == 0 and background_share(sky) > 0.5


def test_mirror_follows_link_poses_without_rebuilding(view, fake_scene_session):
    items_before = list(view.items)
    for _ in range(25):                     # the fake robot slides 1 cm along +y per step
        fake_scene_session.step()
    view.refresh_poses()
    image = view.render_image(W, H)
    moved = (ROBOT_POS[0], 0.25, ROBOT_POS[2])
    assert orange_share(patch(image, project(view, moved, W, H))) > 0.8
    assert orange_share(patch(image, project(view, ROBOT_POS, W, H))) < 0.3
    assert view.items == items_before


def test_overlays_are_added_replaced_and_removed(view):
    import pyqtgraph.opengl as gl

    line = gl.GLLinePlotItem(pos=np.array([[0, 0, 0.1], [0.5, 0, 0.1]]), color=(0, 1, 0, 1), width=3)
    assert view.add_overlay("plans", line) is line and view.overlay("plans") is line
    other = gl.GLScatterPlotItem(pos=np.zeros((1, 3)))
    view.add_overlay("plans", other)
    assert view.overlay("plans") is other and line not in view.items
    view.remove_overlay("plans")
    view.remove_overlay("plans")  # removing twice is harmless
    assert view.overlay("plans") is None and other not in view.items
    assert view.overlay_keys() == []


def test_wrong_number_of_poses_is_rejected(view):
    with pytest.raises(ValueError, match="link poses"):
        view.set_poses(np.zeros((2, 7)))


def test_a_missing_mesh_file_hides_only_that_shape(qtbot, tmp_path):
    from scenes.api import LinkVisual, SceneDescription, VisualShape

    missing = VisualShape("mesh", (1, 1, 1), (1, 1, 1, 1), (0, 0, 0), (0, 0, 0, 1),
                          mesh_file=str(tmp_path / "gone.obj"))
    box = VisualShape("box", (0.1, 0.1, 0.1), (0, 1, 0, 1), (0, 0, 0), (0, 0, 0, 1))
    widget = SceneView()
    qtbot.addWidget(widget)
    widget.set_scene(SceneDescription("t", [LinkVisual("a", -1, (missing, box))],
                                      ((0, 0, 0), (1, 1, 1)), ()),
                     np.array([[0, 0, 0, 0, 0, 0, 1.0]]))
    assert len(widget.mesh_errors) == 1 and "gone.obj" in widget.mesh_errors[0]
    assert len(widget._links[0].childItems()) == 1


def test_double_click_resets_the_camera(view, qtbot):
    from PySide6 import QtCore

    default = dict(view.cameraParams())
    view.orbit(40, 10)
    view.opts["distance"] *= 2
    assert view.cameraParams()["azimuth"] != default["azimuth"]
    qtbot.mouseDClick(view, QtCore.Qt.MouseButton.LeftButton)
    params = view.cameraParams()
    assert params["azimuth"] == pytest.approx(default["azimuth"])
    assert params["distance"] == pytest.approx(default["distance"])
