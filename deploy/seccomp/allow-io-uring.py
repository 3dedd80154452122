#!/usr/bin/env python3
"""Derives a seccomp profile that allows io_uring from a Docker-format profile (Docker's default).

Usage: allow-io-uring.py [PROFILE.json] > io_uring.json     (reads stdin without PROFILE)

The output is the input with exactly two changes, so it stays what the runtime's default allows
and blocks otherwise:
  1. io_uring_setup, io_uring_enter and io_uring_register are removed from every rule that does
     not allow them (a profile may deny them by name);
  2. one rule allowing the three, unconditionally, is appended.
docs/containers.md shows how to get Docker's default profile for your Docker version and use this.
"""
import json
import sys

IO_URING = ["io_uring_setup", "io_uring_enter", "io_uring_register"]


def allow_io_uring(profile):
    rules = []
    for rule in profile.get("syscalls") or []:
        if rule.get("action") != "SCMP_ACT_ALLOW":
            names = [n for n in rule.get("names", []) if n not in IO_URING]
            if not names:
                continue
            rule = dict(rule, names=names)
        rules.append(rule)
    rules.append({
        "names": IO_URING,
        "action": "SCMP_ACT_ALLOW",
        "args": [],
        "comment": "io_uring for Transport.IoUring (ASP.NET Core Kestrel)",
        "includes": {},
        "excludes": {},
    })
    return dict(profile, syscalls=rules)


def main():
    source = open(sys.argv[1]) if len(sys.argv) > 1 else sys.stdin
    with source:
        profile = json.load(source)
    json.dump(allow_io_uring(profile), sys.stdout, indent=2)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
