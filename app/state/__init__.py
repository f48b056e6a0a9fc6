"""Qt-free session state shared by the app views."""
