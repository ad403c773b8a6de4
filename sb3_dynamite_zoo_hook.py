"""Register sb3-dynamite's algorithms with the RL Zoo as soon as ``rl_zoo3`` is imported.

``rl_zoo3``'s scripts check ``--algo`` against their ``ALGOS`` dict before they import any plugin, and
the zoo has no plugin mechanism. This module is imported at interpreter start by
``sb3_dynamite_zoo.pth`` (installed next to it in site-packages); it only puts a finder on
``sys.meta_path`` (standard library only, nothing else is imported) and, once the ``rl_zoo3`` package
has finished importing, calls :func:`sb3_dynamite.zoo.register_zoo`. That makes the plain
``python -m rl_zoo3.train --algo dynamite ...`` (and ``enjoy``, ``record_video``) work.

It never raises: a failed registration prints one line and the zoo keeps working without our
algorithms (``python -m sb3_dynamite.zoo ...`` registers explicitly). Set
``SB3_DYNAMITE_NO_ZOO_HOOK=1`` to switch it off.
"""

from __future__ import annotations

import os
import sys
from importlib.abc import MetaPathFinder
from importlib.machinery import ModuleSpec
from types import ModuleType

TARGET = "rl_zoo3"


def _register() -> None:
    try:
        from sb3_dynamite.zoo import register_zoo

        register_zoo()
    except Exception as exc:  # never break rl_zoo3 itself
        print(
            f"sb3_dynamite: could not register with rl_zoo3 ({exc!r}); run `python -m sb3_dynamite.zoo ...` instead",
            file=sys.stderr,
        )


class RLZooPostImportHook(MetaPathFinder):
    """Finds ``rl_zoo3`` through the other finders, then runs :func:`_register` after its ``__init__``."""

    def find_spec(self, fullname: str, path=None, target: ModuleType | None = None) -> ModuleSpec | None:
        if fullname != TARGET:
            return None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(fullname, path, target)
            if spec is None:
                continue
            if spec.loader is not None and hasattr(spec.loader, "exec_module"):
                execute = spec.loader.exec_module

                def exec_then_register(module: ModuleType, _execute=execute) -> None:
                    _execute(module)
                    _register()

                spec.loader.exec_module = exec_then_register  # this spec's loader only
            return spec
        return None


def install() -> None:
    """Put the hook on ``sys.meta_path`` (idempotent); register now if ``rl_zoo3`` is already imported."""
    if os.environ.get("SB3_DYNAMITE_NO_ZOO_HOOK"):
        return
    if TARGET in sys.modules:
        _register()
    elif not any(isinstance(finder, RLZooPostImportHook) for finder in sys.meta_path):
        sys.meta_path.insert(0, RLZooPostImportHook())


install()
