"""Closed-loop evaluation: the one place that knows a scene and a planner (Qt-free)."""
