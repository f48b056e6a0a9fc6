"""planscope desktop application (PySide6 + pyqtgraph; only app/qt imports Qt). See
docs/architecture.md for its rooms and layers."""
from pathlib import Path

__version__ = "0.1.0"
# The project's shipped checkpoints (`make checkpoints` rebuilds them), found from this file so
# every module of the app agrees wherever it sits in the tree.
CHECKPOINTS = Path(__file__).resolve().parent.parent / "resources" / "checkpoints"
