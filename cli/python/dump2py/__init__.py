"""dump2py: Python dumps of Django and Lino databases, read straight from the database.

The package carries the `dump2py` binary; `find_dump2py_bin()` says where it is.
"""

import os
import sys
import sysconfig

__all__ = ["find_dump2py_bin"]


def find_dump2py_bin() -> str:
    """The path of the dump2py binary installed with this package."""
    exe = "dump2py" + (sysconfig.get_config_var("EXE") or "")
    candidates = [os.path.join(sysconfig.get_path("scripts"), exe)]
    user = sysconfig.get_preferred_scheme("user") if sys.version_info >= (3, 10) else None
    if user is not None:
        candidates.append(os.path.join(sysconfig.get_path("scripts", scheme=user), exe))
    # pip install --target puts bin/ beside the package directory.
    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    candidates.append(os.path.join(here, "bin", exe))
    for path in candidates:
        if os.path.isfile(path):
            return path
    raise FileNotFoundError("the dump2py binary is not installed beside this package: looked in "
                            + ", ".join(candidates))
