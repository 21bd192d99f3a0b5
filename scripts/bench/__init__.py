"""The benchmark's parts; ``scripts/benchmark.py`` is its command (see its docstring)."""
