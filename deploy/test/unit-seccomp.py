#!/usr/bin/python3
"""unit-seccomp.py UNIT [--list | -- COMMAND...]

The seccomp part of a systemd unit's sandbox, outside systemd (the build machine has no systemd as PID 1):
SystemCallFilter= (allow list, then ~ removals, groups expanded by `systemd-analyze syscall-filter`),
SystemCallErrorNumber=, RestrictAddressFamilies= (on socket()), MemoryDenyWriteExecute= (mmap with write and
execute, mprotect/pkey_mprotect with execute), native architecture only. With --list, prints the allowed
system calls; otherwise loads the filter (with no_new_privs) and execs COMMAND under it.

What differs from systemd: a socket() of a family not allowed fails with the filter's errno (systemd answers
EAFNOSUPPORT); the other sandbox settings (namespaces, mounts, devices, capabilities) are not applied.
"""
import errno
import os
import subprocess
import sys

import seccomp

MDWE_CALLS = {"mmap", "mprotect", "pkey_mprotect", "shmat"}
PROT_WRITE, PROT_EXEC, SHM_EXEC = 0x2, 0x4, 0o100000


def unit_settings(path):
    """[Service] key → list of values, in file order (drop-ins are the caller's business)."""
    settings, section = {}, None
    with open(path, encoding="utf-8") as f:
        for raw in f:
            line = raw.strip()
            if not line or line[0] in "#;":
                continue
            if line.startswith("["):
                section = line
                continue
            if section == "[Service]" and "=" in line:
                key, value = line.split("=", 1)
                settings.setdefault(key.strip(), []).append(value.strip())
    return settings


def expand(name, seen=None):
    """A syscall or @group → the set of syscall names (groups through systemd-analyze)."""
    if not name.startswith("@"):
        return {name}
    seen = seen if seen is not None else set()
    if name in seen:
        return set()
    seen.add(name)
    out = subprocess.run(
        ["systemd-analyze", "syscall-filter", "--no-pager", name], capture_output=True, text=True, check=True
    ).stdout
    calls = set()
    for line in out.splitlines()[1:]:
        item = line.strip()
        if not item or item.startswith("#"):
            continue
        calls |= expand(item, seen)
    return calls


def allowed_calls(settings):
    allow = None
    for value in settings.get("SystemCallFilter", []):
        negate = value.startswith("~")
        names = set()
        for item in value.lstrip("~").split():
            names |= expand(item)
        if allow is None:
            if negate:
                sys.exit("unit-seccomp: a deny-list-first SystemCallFilter= is not handled")
            allow = names
        elif negate:
            allow -= names
        else:
            allow |= names
    if allow is None:
        sys.exit("unit-seccomp: the unit has no SystemCallFilter=")
    return allow


def families(settings):
    import socket

    values = settings.get("RestrictAddressFamilies", [])
    if not values:
        return None
    fams = set()
    for value in values:
        for name in value.split():
            fams.add(int(getattr(socket, name, {"AF_NETLINK": 16}.get(name, -1))))
    if -1 in fams:
        sys.exit(f"unit-seccomp: unknown family in RestrictAddressFamilies={values}")
    return fams


def main():
    args = sys.argv[1:]
    if len(args) < 2 or (args[1] != "--list" and (args[1] != "--" or len(args) < 3)):
        sys.exit(__doc__)
    settings = unit_settings(args[0])
    allow = allowed_calls(settings)
    if args[1] == "--list":
        print("\n".join(sorted(allow)))
        return
    err = settings.get("SystemCallErrorNumber", ["EPERM"])[-1]
    f = seccomp.SyscallFilter(defaction=seccomp.ERRNO(getattr(errno, err)))
    fams = families(settings)
    mdwe = settings.get("MemoryDenyWriteExecute", ["no"])[-1] in ("yes", "true", "1", "on")
    for call in sorted(allow):
        try:
            if call == "socket" and fams is not None:
                for fam in sorted(fams):
                    f.add_rule(seccomp.ALLOW, call, seccomp.Arg(0, seccomp.EQ, fam))
            elif mdwe and call == "mmap":
                f.add_rule(seccomp.ALLOW, call, seccomp.Arg(2, seccomp.MASKED_EQ, PROT_EXEC, 0))
                f.add_rule(seccomp.ALLOW, call, seccomp.Arg(2, seccomp.MASKED_EQ, PROT_WRITE, 0))
            elif mdwe and call in ("mprotect", "pkey_mprotect"):
                f.add_rule(seccomp.ALLOW, call, seccomp.Arg(2, seccomp.MASKED_EQ, PROT_EXEC, 0))
            elif mdwe and call == "shmat":
                f.add_rule(seccomp.ALLOW, call, seccomp.Arg(2, seccomp.MASKED_EQ, SHM_EXEC, 0))
            else:
                f.add_rule(seccomp.ALLOW, call)
        except (RuntimeError, ValueError):
            pass  # a name this architecture or libseccomp does not have
    f.load()
    os.execvp(args[2], args[2:])


if __name__ == "__main__":
    main()
