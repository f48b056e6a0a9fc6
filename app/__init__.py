"""planscope desktop application (PySide6 + pyqtgraph). The only package that imports Qt."""
__version__ = "0.1.0"
