"""The base layer every other package may import: the settings object and device selection.

The packages import only downward: core -> ingest -> finetune -> assistant -> ui (tests/test_layers.py).
"""
