"""The build loop of one module, read in this order.

``build.py`` (``build_module``): the module starts as its skeleton (by kind,
``software/kinds/``); each unit's candidates are drawn, spliced into the module
(``splice.py``) and tried (``candidates.py``) in the sandbox against the
requirement's examples (``trials.py``); the model's tests of a unit
(``model_tests.py``) choose among candidates tied on the examples by dual
agreement (``agreement.py``); the best is repaired (``candidates.repaired``);
last, the module written whole in one reply (``whole.py``) competes on the same
tests (``selection.py``). What the model wrote that does not parse is salvaged
where it can be (``software/salvage.py``, a repair).
"""
