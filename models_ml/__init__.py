"""portrait's ML layer: train -> evaluate -> register -> score -> monitor.

Reads only the ``features`` schema (features and labels), writes ``ml`` and ``monitoring``,
tracks everything in MLflow. Importing it has no side effects.
"""
