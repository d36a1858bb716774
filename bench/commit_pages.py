#!/usr/bin/python3
"""Which pages a durable LMDB commit of xunchad writes, and what they cost.

    commit_pages.py DATA_MDB STRACE_LOG

STRACE_LOG is `strace -T` of xunchad's writer thread (pwrite64, pwritev,
writev, lseek, fdatasync); DATA_MDB is data.mdb copied after xunchad was
killed with SIGKILL, so that the last complete commit in the log is the
newest snapshot in the file. Prints, over every complete commit in the log,
the pages written, the discontiguous runs they form, and the time of the
fdatasync and of the meta-page write; then, for the last complete commit,
the database each page belongs to (by walking every B-tree of the file).

Reads LMDB 0.9's on-disk format (64-bit build, 4 KiB pages): meta pages 0
and 1, page header, branch and leaf nodes, sub-databases named in the main
database, overflow pages. A diagnostic of bench/commit-pages.sh, not used by
xunchad.
"""
import collections
import re
import statistics
import struct
import sys

PAGE = 4096
P_BRANCH, P_LEAF, P_OVERFLOW = 0x01, 0x02, 0x04
F_BIGDATA, F_SUBDATA = 0x01, 0x02
DB_FORMAT = "<IHHQQQQQ"  # MDB_db: pad, flags, depth, branch, leaf, overflow, entries, root
NO_PAGE = 0xFFFFFFFFFFFFFFFF


def newest_meta(data):
    """Returns (free db, main db, txnid) of the meta page with the higher txnid."""
    best = None
    for n in (0, 1):
        off = n * PAGE + 16 + 24  # page header, then magic, version, address, mapsize
        free_db = struct.unpack_from(DB_FORMAT, data, off)
        main_db = struct.unpack_from(DB_FORMAT, data, off + 48)
        txnid = struct.unpack_from("<QQ", data, off + 96)[1]
        if best is None or txnid > best[2]:
            best = (free_db, main_db, txnid)
    return best


def page_owners(data):
    """Maps every page reachable from the newest snapshot to its database."""
    owner = {}
    free_db, main_db, _ = newest_meta(data)

    def walk(root, name):
        stack = [] if root == NO_PAGE else [root]
        while stack:
            n = stack.pop()
            if (n + 1) * PAGE > len(data):
                continue
            owner[n] = name
            flags, lower = struct.unpack_from("<HH", data, n * PAGE + 10)
            if flags & P_OVERFLOW:
                count = struct.unpack_from("<I", data, n * PAGE + 12)[0]
                for i in range(1, count):
                    owner[n + i] = name
                continue
            for i in range((lower - 16) // 2):
                ptr = n * PAGE + struct.unpack_from("<H", data, n * PAGE + 16 + 2 * i)[0]
                lo, hi, nflags, ksize = struct.unpack_from("<HHHH", data, ptr)
                if flags & P_BRANCH:
                    stack.append(lo | hi << 16 | nflags << 32)
                elif flags & P_LEAF:
                    value = ptr + 8 + ksize
                    if nflags & F_BIGDATA:
                        stack.append(struct.unpack_from("<Q", data, value)[0])
                    elif nflags & F_SUBDATA and name == "(main)":
                        key = data[ptr + 8:ptr + 8 + ksize].decode("utf-8", "replace")
                        walk(struct.unpack_from(DB_FORMAT, data, value)[7], key)

    walk(free_db[7], "(free list)")
    walk(main_db[7], "(main)")
    for n in (0, 1):
        owner[n] = "(meta)"
    return owner


def commits(log):
    """Splits the writer's trace into complete commits: the data pages
    written, the fdatasync's seconds and the meta write's seconds."""
    out, pages, fsync_s, data_fd, pos = [], [], None, None, 0
    for line in log:
        m = re.search(r"fdatasync\((\d+)\)\s+= 0 <([0-9.]+)>", line)
        if m:
            data_fd, fsync_s = m.group(1), float(m.group(2))
            continue
        m = re.search(r"lseek\((\d+), (\d+), SEEK_SET\)", line)
        if m:
            pos = int(m.group(2))
            continue
        m = re.search(r"pwrite64\((\d+), .*, (\d+), (\d+)\)\s+= (\d+) <([0-9.]+)>", line)
        if m:
            fd, size, off, secs = m.group(1), int(m.group(2)), int(m.group(3)), float(m.group(5))
            if fsync_s is not None and fd != data_fd:
                # The meta page, through LMDB's O_DSYNC descriptor: the commit is complete.
                out.append((pages, fsync_s, secs))
                pages, fsync_s = [], None
            elif size % PAGE == 0:
                pages.extend(range(off // PAGE, (off + size) // PAGE))
            continue
        m = re.search(r"writev\((\d+), .*\)\s+= (\d+)", line)
        if m and int(m.group(2)) % PAGE == 0:
            pages.extend(range(pos // PAGE, (pos + int(m.group(2))) // PAGE))
            pos += int(m.group(2))
    return out


def runs(pages):
    s = sorted(set(pages))
    return sum(1 for i, p in enumerate(s) if i == 0 or s[i - 1] != p - 1)


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: commit_pages.py DATA_MDB STRACE_LOG")
    data = open(sys.argv[1], "rb").read()
    done = commits(open(sys.argv[2]).read().splitlines())
    if not done:
        sys.exit("commit_pages.py: no complete commit in " + sys.argv[2])

    def p50(xs):
        return statistics.median(xs)

    n_pages = [len(set(c[0])) for c in done]
    print("commits traced: %d" % len(done))
    print("pages per commit: p50 %d (min %d, max %d)" % (p50(n_pages), min(n_pages),
                                                          max(n_pages)))
    print("discontiguous runs per commit: p50 %d" % p50([runs(c[0]) for c in done]))
    print("fdatasync: p50 %.3f ms; meta page write (O_DSYNC): p50 %.3f ms" %
          (p50([c[1] for c in done]) * 1e3, p50([c[2] for c in done]) * 1e3))
    owner = page_owners(data)
    last = sorted(set(done[-1][0]))
    by_db = collections.Counter(owner.get(p, "(not in the snapshot)") for p in last)
    print("the last commit's %d pages by database: %s" % (
        len(last), ", ".join("%s %d" % kv for kv in by_db.most_common())))


if __name__ == "__main__":
    main()
