"""The control plane: run lifecycle, governance policy, budgets and human decisions.

Pure rules with no graph or database code, so the graph nodes, the runner,
the CLI and (later) the API all enforce the same ones.
"""
