"""Shared by the Python end-to-end tests: a check collector, the time limits,
the suite runner and the pieces every suite needs to run xunchad and call it.

A failed check is recorded and printed, and the run goes on, so one run
reports every failure; each test script exits non-zero if any check failed.
run_suite is what every script's main() does once its arguments are read.
"""

import importlib
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import traceback

import grpc

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


def run_suite(prefix, body, expected=(), crash="unexpected exception (see above)", tail=None):
    """Runs body(tmp, checks) in a fresh temporary directory and returns the exit status.

    The directory (named with prefix) is removed afterwards unless $XC_E2E_KEEP
    is set, so a failed run can be looked at. An exception of a type in
    expected is a failed check with its own message; any other is printed with
    its traceback and recorded as the failed check `crash`, so a crash of the
    test fails the suite rather than hiding the checks it had not reached.
    tail, if given, returns text appended to the summary line once the run is
    over (the time taken, the seed).
    """
    c = Checks()
    tmp = tempfile.mkdtemp(prefix=prefix)
    try:
        body(tmp, c)
    except expected as e:
        c.ok(False, str(e))
    except Exception:
        traceback.print_exc()
        c.ok(False, crash)
    finally:
        if os.environ.get("XC_E2E_KEEP"):
            print("kept %s" % tmp)
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    print("%d checks passed, %d failed%s" % (c.passed, len(c.failed), tail() if tail else ""))
    for f in c.failed:
        print("  failed: %s" % f)
    return 1 if c.failed else 0


def wait_port(proc, port_file, timeout=START_TIMEOUT):
    """Waits until xunchad (proc, started with --port-file) writes "PORT\\n" there.

    Returns the port, or None if proc exited first or timeout seconds passed
    (proc.poll() tells which). A partly written file does not match, so it is
    read again on the next turn.
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return None
        try:
            with open(port_file) as f:
                m = re.search(r"^(\d+)\n$", f.read())
            if m:
                return int(m.group(1))
        except FileNotFoundError:
            pass
        time.sleep(0.01)
    return None


def stop_process(proc, timeout=STOP_TIMEOUT):
    """SIGTERM, a bounded wait, then SIGKILL. Returns the exit code."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)
    return proc.returncode


def tls_channel(addr, certdir, who, options=None):
    """A channel to addr ("HOST:PORT") trusting certdir/ca.pem, as the client who.pem/who.key."""
    def read(name):
        with open(os.path.join(certdir, name), "rb") as f:
            return f.read()
    creds = grpc.ssl_channel_credentials(root_certificates=read("ca.pem"),
                                         private_key=read(who + ".key"),
                                         certificate_chain=read(who + ".pem"))
    return grpc.secure_channel(addr, creds, options=options)


def run_on_terminal(argv, timeout, env):
    """Runs argv with stdout piped and stderr on a new pseudo-terminal, for the
    output a person at a terminal sees (progress bars redrawn in place).

    Returns (CompletedProcess, bytes): the process with its stdout, and all it
    wrote to the terminal.
    """
    master, slave = os.openpty()
    try:
        q = subprocess.run(argv, stdout=subprocess.PIPE, stderr=slave, timeout=timeout, env=env)
        os.close(slave)
        slave = -1
        seen = b""
        while True:
            try:
                chunk = os.read(master, 4096)
            except OSError:  # EIO: the process is gone and nothing is left to read
                break
            if not chunk:
                break
            seen += chunk
        return q, seen
    finally:
        if slave >= 0:
            os.close(slave)
        os.close(master)


def compile_protos(protoc, proto_dir, out, names):
    """Compiles proto_dir/xuncha/v1/<name> for each of names (all in the
    package xuncha.v1) into out/gen, puts that first on sys.path and returns
    the imported *_pb2 modules in the order of names."""
    src = os.path.join(out, "protos")
    os.makedirs(os.path.join(src, "xuncha", "v1"))
    for name in names:
        shutil.copy(os.path.join(proto_dir, "xuncha", "v1", name),
                    os.path.join(src, "xuncha", "v1", name))
    gen = os.path.join(out, "gen")
    os.makedirs(gen)
    subprocess.run([protoc, "--python_out=" + gen, "-I", src]
                   + ["xuncha/v1/" + name for name in names], check=True, timeout=60)
    sys.path.insert(0, gen)
    return [importlib.import_module("xuncha.v1." + name[:-len(".proto")] + "_pb2")
            for name in names]
