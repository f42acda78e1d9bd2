"""A seccomp filter that keeps sandboxed code from making user namespaces.

A user namespace gives its maker every capability inside it, and with them
the parts of the kernel that only root used to reach (mounting filesystems,
netfilter, many namespaced interfaces): the surface most kernel privilege
escalations go through. When the factory is root, bwrap runs without a user
namespace, so ``--disable-userns`` (which needs one) cannot apply; this
filter, loaded by bwrap (``--seccomp FD``) just before the command starts,
makes ``unshare`` and ``clone`` with ``CLONE_NEWUSER`` fail with EPERM, and
``clone3`` (whose flags a filter cannot read) fail with ENOSYS, so that the C
library falls back to ``clone``. Everything else is allowed.

The program is classic BPF, written out here for the machine's own ABI and
the 32-bit ABI it can also run (x86-64 and i386, or arm64 and arm). On
another architecture there is no filter (``program`` returns None) and
``docs/sandbox.md`` says what holds then.
"""

from __future__ import annotations

import errno
import platform
import struct

CLONE_NEWUSER = 0x10000000
# classic BPF opcodes (linux/filter.h) and seccomp return values (linux/seccomp.h)
_LD_W_ABS = 0x20  # BPF_LD | BPF_W | BPF_ABS
_JEQ_K = 0x15  # BPF_JMP | BPF_JEQ | BPF_K
_JGE_K = 0x35  # BPF_JMP | BPF_JGE | BPF_K
_JSET_K = 0x45  # BPF_JMP | BPF_JSET | BPF_K
_RET_K = 0x06  # BPF_RET | BPF_K
ALLOW = 0x7FFF0000
ERRNO = 0x00050000
# struct seccomp_data: nr at 0, arch at 4, args[0] at 16 (its low half on little-endian)
_NR, _ARCH, _ARG0_LOW = 0, 4, 16
X32_BIT = 0x40000000

# audit arch: (unshare, clone, clone3) syscall numbers
ABIS = {
    "x86_64": {0xC000003E: (272, 56, 435), 0x40000003: (310, 120, 435)},
    "aarch64": {0xC00000B7: (97, 220, 435), 0x40000028: (337, 120, 435)},
}


def _op(code: int, k: int, jt: int = 0, jf: int = 0) -> bytes:
    return struct.pack("=HBBI", code, jt, jf, k)


def _abi(numbers: tuple[int, int, int], *, x32: bool) -> list[bytes]:
    """Return the filter for one ABI (entered with the syscall number not yet loaded)."""
    unshare, clone, clone3 = numbers
    ops = [_op(_LD_W_ABS, _NR)]
    if x32:  # x86-64's x32 ABI: the same arch value, numbers with this bit set
        ops.append(_op(_JGE_K, X32_BIT, jt=0, jf=1))
        ops.append(_op(_RET_K, ERRNO | errno.EPERM))
    ops += [
        _op(_JEQ_K, clone3, jt=0, jf=1),
        _op(_RET_K, ERRNO | errno.ENOSYS),
        _op(_JEQ_K, unshare, jt=1, jf=0),
        _op(_JEQ_K, clone, jt=0, jf=3),
        _op(_LD_W_ABS, _ARG0_LOW),
        _op(_JSET_K, CLONE_NEWUSER, jt=0, jf=1),
        _op(_RET_K, ERRNO | errno.EPERM),
        _op(_RET_K, ALLOW),
    ]
    return ops


def program(machine: str | None = None) -> bytes | None:
    """Return the filter for ``machine`` (default: this one) as bytes, or None when unknown.

    Layout: check the ABI, then per ABI: clone3 -> ENOSYS; unshare or clone
    with CLONE_NEWUSER -> EPERM; the rest allowed. A call from an ABI the
    filter does not know fails with EPERM.
    """
    abis = ABIS.get(machine or platform.machine())
    if abis is None:
        return None
    blocks = [_abi(numbers, x32=arch == 0xC000003E) for arch, numbers in abis.items()]
    ops: list[bytes] = [_op(_LD_W_ABS, _ARCH)]
    # one "arch == A ? fall into block : jump past it" per ABI, then the unknown ABI's refusal
    for (arch, _), block in zip(abis.items(), blocks, strict=True):
        ops.append(_op(_JEQ_K, arch, jt=0, jf=len(block)))
        ops += block
    ops.append(_op(_RET_K, ERRNO | errno.EPERM))
    return b"".join(ops)
