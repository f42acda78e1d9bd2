"""The rules of ``control/`` applied inside the graph: pauses, requests, holds, budgets, phases."""
