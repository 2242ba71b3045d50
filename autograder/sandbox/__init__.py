"""Run untrusted student code in a limited child process.

The parent (this package) never imports a student module. A child started
with ``python -I -S`` runs ``harness.py``, which imports the student module
by path and answers one request at a time; only plain numeric ``.npy``
arrays come back, over the reply pipe, parsed by ``reply.parse_reply`` and
validated by the checks.
"""

from autograder.sandbox.child import Child, ChildDied, Kept, StudentFault
from autograder.sandbox.limits import Limits

__all__ = ["Child", "ChildDied", "Kept", "Limits", "StudentFault"]
