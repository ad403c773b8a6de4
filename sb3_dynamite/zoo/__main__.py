"""``python -m sb3_dynamite.zoo train|enjoy|record_video [rl_zoo3 arguments]``.

The explicit equivalent of ``python -m rl_zoo3.<command>``: registers our algorithms first (no need for
the import hook), then runs the zoo's script with the remaining arguments, e.g.
``python -m sb3_dynamite.zoo train --algo dynamite --env dlcmdp/GridWorld-v0``.
"""

from __future__ import annotations

import os
import runpy
import sys

COMMANDS = ("train", "enjoy", "record_video")
USAGE = f"usage: python -m sb3_dynamite.zoo {{{','.join(COMMANDS)}}} [rl_zoo3 arguments, see --help]"


def main(argv: list[str] | None = None) -> None:
    argv = list(sys.argv[1:] if argv is None else argv)
    command = argv[0].replace("-", "_") if argv else ""
    if command not in COMMANDS:
        print(USAGE, file=sys.stderr)
        sys.exit(0 if command in ("_h", "__help") else 2)
    if command == "record_video" and "MUJOCO_GL" not in os.environ and not os.environ.get("DISPLAY"):
        os.environ["MUJOCO_GL"] = "egl"  # headless MuJoCo rendering
    from sb3_dynamite.zoo import register_zoo

    register_zoo()
    sys.argv = [f"rl_zoo3.{command}", *argv[1:]]
    if command == "train":
        from rl_zoo3.train import train

        train()
    elif command == "enjoy":
        from rl_zoo3.enjoy import enjoy

        enjoy()
    else:  # record_video is a script without a main function
        runpy.run_module("rl_zoo3.record_video", run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main()
