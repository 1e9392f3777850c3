"""The local AWS emulator: moto's HTTP server with the patches of ``moto_patches`` (speed, isolation and
AWS's data limits) applied in this process only.

Run as ``python -m netremedy_local.emulator_server [moto.server arguments]``. It refuses to start, naming the
patches and the moto version, when the installed moto is not the code the patches were written against.
"""

import sys

from netremedy_local import moto_patches


def main() -> None:
    try:
        moto_patches.apply()
    except moto_patches.PatchMismatchError as exc:
        print(f"error: {exc}", file=sys.stderr, flush=True)
        sys.exit(1)
    from moto.server import main as moto_main

    moto_main()


if __name__ == "__main__":
    main()
