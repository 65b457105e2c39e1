"""`python -m dump2py ARGS`: runs the dump2py binary with ARGS."""

import os
import subprocess
import sys

from dump2py import find_dump2py_bin


def main() -> int:
    try:
        binary = find_dump2py_bin()
    except FileNotFoundError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    if os.name == "posix":
        os.execv(binary, [binary, *sys.argv[1:]])
    return subprocess.call([binary, *sys.argv[1:]])


if __name__ == "__main__":
    sys.exit(main())
