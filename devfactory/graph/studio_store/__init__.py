"""The embedder of LangGraph Studio's store, found by import from any directory.

``langgraph dev`` reads ``store.index.embed`` either as a file path, which it
resolves against the current directory (so ``langgraph dev --config
<repo>/langgraph.json`` started elsewhere could not find it), or, when the name
ends in ``.py`` and has no ``/``, as a module to import. ``langgraph.json`` names
``devfactory.graph.studio_store.py:embed``: the module ``py`` of this package,
found wherever devfactory is installed.
"""
