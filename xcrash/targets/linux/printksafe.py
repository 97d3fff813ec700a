"""What printk left outside the log: the per-CPU NMI and printk-safe buffers of
kernels 4.11 to 5.14 (``log -s``, and after ``log``'s records), and the audit records
not yet handed to the audit daemon (``log -a``)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from ...errors import CommandError, MemoryError_, NoSuchMember, NoSuchType

if TYPE_CHECKING:
    from .kernel import LinuxTarget

#: the per-CPU buffers crash reads, in its order
SAFE_BUFFERS = ("nmi_print_seq", "safe_print_seq")


@dataclass
class SafeBuffer:
    """One CPU's printk_safe_seq_buf: where it is, how much it holds and how much was
    lost; ``data`` is the text held (``len`` bytes at most the buffer's size)."""
    name: str
    cpu: int
    address: int
    length: int
    message_lost: int
    data: bytes


def safe_buffers(target: LinuxTarget) -> list[SafeBuffer] | None:
    """Every CPU's NMI and printk-safe buffer (crash's CPU count); None when the kernel
    has no struct printk_safe_seq_buf (before 4.11, since 5.15)."""
    from ..cpuspec import cpu_count
    if not any(name in target.symbols for name in SAFE_BUFFERS):
        return None             # 5.15+: no such buffers (and no type to look up)
    try:
        t = target.type("struct printk_safe_seq_buf").strip_typedefs()
    except NoSuchType:
        return None             # the kernel has no such buffers
    try:
        len_off = t.offsetof("len") + target.offsetof("atomic_t", "counter")
        lost_off = t.offsetof("message_lost") + target.offsetof("atomic_t", "counter")
        buf_off = t.offsetof("buffer")
        size = t.member_path("buffer")[1].byte_size
    except (NoSuchMember, NoSuchType) as err:
        raise CommandError(f"log: -s not supported with this kernel version ({err})") from err
    out = []
    for name in SAFE_BUFFERS:
        sym = target.symbols.get(name)
        if sym is None:
            continue
        for cpu in range(cpu_count(target)):
            base = target.per_cpu_address(sym.address, cpu)
            try:
                length = _s32(target.space.read_u32(base + len_off))
                lost = _s32(target.space.read_u32(base + lost_off))
                data = target.space.read(base + buf_off, min(length, size)) if length > 0 else b""
            except MemoryError_ as err:
                raise CommandError(f"log: {name} of CPU {cpu}: {err}") from err
            out.append(SafeBuffer(name, cpu, base, length, lost, data))
    return out


def _s32(value: int) -> int:
    return value - (1 << 32) if value & 0x80000000 else value


@dataclass
class AuditRecord:
    """An audit message still queued in the kernel: its netlink type and text."""
    type: int
    text: str


AUDIT_QUEUES = (("audit_skb_queue", ("audit_skb_hold_queue", "audit_skb_queue")),
                ("audit_queue", ("audit_hold_queue", "audit_retry_queue", "audit_queue")))


def audit_records(target: LinuxTarget) -> list[AuditRecord]:
    """The sk_buffs of the kernel's audit queues (the hold, retry and main queues),
    each a netlink message: its type and its text.  An error when the kernel has no
    audit queue (no CONFIG_AUDIT), as crash's."""
    names = next((queues for marker, queues in AUDIT_QUEUES if marker in target.symbols), None)
    if names is None:
        raise CommandError("log: -a option not supported or applicable on this "
                           "architecture or kernel")
    out: list[AuditRecord] = []
    try:
        nlmsghdr = target.type("struct nlmsghdr").strip_typedefs()
        header = (nlmsghdr.byte_size + 3) & ~3          # NLMSG_ALIGN(sizeof(struct nlmsghdr))
        for name in names:
            sym = target.symbols.get(name)
            if sym is None:
                continue
            head = target.object(name)
            if not int(head.qlen):
                continue
            skb = int(head.next)
            for _ in range(100_000):
                entry = target.object_at("struct sk_buff", skb)
                data = int(entry.data)
                if not data:
                    raise CommandError("log: sk_buff.data: NULL")
                length = int(entry.len) - header
                kind = int(target.object_at("struct nlmsghdr", data).nlmsg_type)
                text = target.space.read(data + header, max(length, 0))
                out.append(AuditRecord(kind, text.split(b"\0", 1)[0].decode("latin-1")))
                skb = int(entry.next)
                if skb == sym.address:
                    break
    except MemoryError_ as err:
        raise CommandError(f"log: audit queue: {err}") from err
    except (NoSuchMember, NoSuchType) as err:
        raise CommandError(f"log: audit queue: {err}") from err
    return out
