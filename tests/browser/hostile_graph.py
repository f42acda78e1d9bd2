"""``devfactory serve`` with one change: every graph it draws as SVG is an attacker's.

Graphviz escapes what a run gives it, so no run of the factory puts markup in a
graph today; the console must not rely on that. The console's browser test runs
``python -m tests.browser.hostile_graph --port P`` beside the module's real
server, on the same database and users file, and opens a real run's page on it:
the run's graph route answers ``HOSTILE_SVG``, which the console must show
without anything in it running. Each trap, if it ran, would add its name to
``window.pwned``.
"""

from __future__ import annotations

MARK = "(window.pwned = window.pwned || []).push"
HOSTILE_SVG = f"""<?xml version="1.0" encoding="UTF-8" standalone="no"?>
<svg width="600pt" height="260pt" viewBox="0 0 600 260" xmlns="http://www.w3.org/2000/svg"
 xmlns:xlink="http://www.w3.org/1999/xlink" onload="{MARK}('svg-onload')">
<script>{MARK}('script')</script>
<g id="graph0" class="graph">
<g id="node-approval" class="node"><title>approval</title>
<polygon fill="#ffe8a3" stroke="#d97706" points="10,10 190,10 190,60 10,60"/>
<text x="20" y="40">approval</text></g>
<a id="trap-animate-link"><animate attributeName="href"
 values="javascript:{MARK}('animate-href')" begin="0s" fill="freeze"/><text
 id="trap-animate" x="20" y="100" font-size="20">open (animate)</text></a>
<a id="trap-set-link"><set attributeName="href" to="javascript:{MARK}('set-href')" begin="0s"
 fill="freeze"/><text id="trap-set" x="20" y="140" font-size="20">open (set)</text></a>
<rect id="trap-hover" x="300" y="10" width="200" height="80" fill="#eeeeee"><set
 attributeName="onmouseover" to="{MARK}('set-onmouseover')" begin="0s"/></rect>
<foreignObject x="0" y="160" width="400" height="60"><body xmlns="http://www.w3.org/1999/xhtml">
<script>{MARK}('foreign-script')</script><img src="/nowhere.png" onerror="{MARK}('onerror')"/>
<iframe src="javascript:parent.{MARK}('iframe')"></iframe></body></foreignObject>
<image href="/nowhere.png" x="0" y="0" width="4" height="4" onload="{MARK}('image-onload')"/>
<g onload="{MARK}('g-onload')"><text id="trap-onclick" x="300" y="140" font-size="20"
 onclick="{MARK}('onclick')">click (handler)</text></g>
</g></svg>
"""


def hostile_svg(drawing: object) -> str:
    """Return ``HOSTILE_SVG``, whatever the drawing is (what ``to_svg`` is replaced with)."""
    return HOSTILE_SVG


if __name__ == "__main__":
    from devfactory.api import __main__ as serve
    from devfactory.api import info

    info.to_svg = hostile_svg  # the run's graph route draws through this name
    serve.main()
