"""The proof matrix's parts; ``scripts/proof_matrix.py`` is its command (see its docstring)."""
