"""Shared by the Python end-to-end tests: a check collector and the time limits.

A failed check is recorded and printed, and the run goes on, so one run
reports every failure; each test script exits non-zero if any check failed.
"""

CALL_TIMEOUT = 10.0   # seconds one RPC may take
START_TIMEOUT = 15.0  # seconds xunchad may take to write its port file
STOP_TIMEOUT = 10.0   # seconds xunchad may take to exit after SIGTERM


class Checks:
    """Collects check results; a failed check does not stop the run."""

    def __init__(self):
        self.passed = 0
        self.failed = []

    def ok(self, cond, what):
        if cond:
            self.passed += 1
            print("  ok    %s" % what)
        else:
            self.failed.append(what)
            print("  FAIL  %s" % what)
        return cond

    def eq(self, got, want, what):
        return self.ok(got == want, "%s (got %r, want %r)" % (what, got, want))
