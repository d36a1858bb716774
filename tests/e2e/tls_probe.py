#!/usr/bin/python3
"""Calls grpc.health.v1.Health/Check once over TLS and prints the outcome.

Used by the e2e TLS suite for what libxuncha cannot do on purpose: connect
with no client certificate at all. Run with Debian's /usr/bin/python3
(python3-grpcio). Prints one line, "STATUS <CODE NAME> <details>", and exits
0 whenever a status came back (the caller judges it), 1 on a usage error.
"""
import argparse
import sys

import grpc


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--addr", required=True, help="127.0.0.1:PORT")
    ap.add_argument("--ca", required=True, help="CA that signed the server")
    ap.add_argument("--cert", help="client certificate (omit for none)")
    ap.add_argument("--key", help="client key (omit for none)")
    ap.add_argument("--timeout", type=float, default=5.0)
    args = ap.parse_args()
    if not args.addr.startswith("127.0.0.1:"):
        print("only 127.0.0.1 is allowed", file=sys.stderr)
        return 1
    with open(args.ca, "rb") as f:
        ca = f.read()
    cert = key = None
    if args.cert:
        with open(args.cert, "rb") as f:
            cert = f.read()
        with open(args.key, "rb") as f:
            key = f.read()
    creds = grpc.ssl_channel_credentials(root_certificates=ca, private_key=key,
                                         certificate_chain=cert)
    with grpc.secure_channel(args.addr, creds) as ch:
        check = ch.unary_unary("/grpc.health.v1.Health/Check")
        try:
            # An empty HealthCheckRequest is zero bytes; no generated code needed.
            check(b"", timeout=args.timeout)
            print("STATUS OK")
        except grpc.RpcError as e:
            print("STATUS %s %s" % (e.code().name, e.details()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
