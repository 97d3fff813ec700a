"""Disk I/O in flight (``dev -d``): each disk of the block class, its request queue and
the requests in flight on it, counted as crash counts them (blk-mq: the tags set in each
hardware queue's sbitmaps whose request is in flight on this queue)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from ...errors import CommandError, MemoryError_, NoSuchMember, NoSuchSymbol, NoSuchType
from ...objects import Object, list_for_each
from . import sbitmap

if TYPE_CHECKING:
    from .kernel import LinuxTarget

#: disks crash leaves out
SKIPPED = ("ram", "loop")
MQ_RQ_IN_FLIGHT = 1


@dataclass
class DiskIo:
    """A disk: major, struct gendisk, name, request_queue and its reads and writes in
    flight."""
    major: int
    gendisk: int
    name: str
    queue: int
    read: int
    write: int


def _block_subsys(target: LinuxTarget) -> int:
    """The subsys_private of the block class (class->p before 6.4, else found by name
    among class_kset's kobjects)."""
    cls = target.type("struct class").strip_typedefs()
    if cls.has_member("p"):
        return int(target.object("block_class").p)
    kset = target.object("class_kset").deref_()
    sp_t = target.type("struct subsys_private").strip_typedefs()
    kobj_off = sp_t.offsetof("subsys.kobj")
    entry_off = target.offsetof("struct kobject", "entry")
    for link in list_for_each(target, int(kset.list.address_of_())):
        kobj = link - entry_off
        name_ptr = target.space.read_u64(kobj + target.offsetof("struct kobject", "name"))
        if name_ptr and target.space.read_cstring(name_ptr, 16) == b"block":
            return kobj - kobj_off
    raise CommandError("dev: cannot determine subsys_private for block.")


def gendisks(target: LinuxTarget) -> list[int]:
    """The gendisks of the block class's devices, in its klist's order (dead nodes
    skipped), as crash walks them."""
    sp = target.space
    private = _block_subsys(target)
    head = private + target.offsetof("struct subsys_private", "klist_devices.k_list")
    n_node = target.offsetof("struct klist_node", "n_node")
    n_klist = target.offsetof("struct klist_node", "n_klist")
    knode_class = target.offsetof("struct device_private", "knode_class")
    dev_off = target.offsetof("struct device_private", "device")
    disk_type = target.symbols.lookup("disk_type").address
    type_off = target.offsetof("struct device", "type")
    gendisk_of = _gendisk_of_device(target)
    out = []
    for link in list_for_each(target, head):
        node = link - n_node
        if sp.read_u64(node + n_klist) & 1:
            continue                        # a dead klist node
        device = sp.read_u64(node - knode_class + dev_off)
        if sp.read_u64(device + type_off) != disk_type:
            continue
        out.append(gendisk_of(device))
    return out


def _gendisk_of_device(target: LinuxTarget):
    """How a disk's struct device leads to its gendisk: the device is the whole-disk
    block_device's ``bd_device`` (5.11 on: its ``bd_disk``), or before that the
    ``__dev`` of the gendisk's own ``part0`` (a struct hd_struct inside the gendisk)."""
    bdev = target.type("struct block_device").strip_typedefs()
    if bdev.has_member("bd_device"):
        bd_device = bdev.offsetof("bd_device")
        bd_disk = bdev.offsetof("bd_disk")
        return lambda device: target.space.read_u64(device - bd_device + bd_disk)
    part0_dev = target.type("struct gendisk").strip_typedefs().offsetof("part0.__dev")
    return lambda device: device - part0_dev


def disk_io(target: LinuxTarget) -> list[DiskIo]:
    try:
        out = []
        for gd in gendisks(target):
            disk = target.object_at("struct gendisk", gd)
            name = target.space.read(int(disk.disk_name.address_of_()), 32).split(b"\0")[0]
            text = name.decode("latin-1")
            if text.startswith(SKIPPED):
                continue
            queue = int(disk.queue)
            read, write = _in_flight(target, queue, disk)
            out.append(DiskIo(int(disk.major), gd, text, queue, read, write))
        return out
    except MemoryError_ as err:
        raise CommandError(f"dev: {err}") from err
    except (NoSuchMember, NoSuchSymbol, NoSuchType) as err:
        raise CommandError(f"dev: -d option not supported or applicable on this "
                           f"architecture or kernel ({err})") from err


def _in_flight(target: LinuxTarget, queue: int, disk: Object) -> tuple[int, int]:
    q = target.object_at("struct request_queue", queue)
    if not int(q.mq_ops):
        return _dkstats(target, disk)
    counts = [0, 0]
    for tags in _hw_tags(target, q):
        _count_tags(target, queue, tags, counts)
    return counts[0], counts[1]


def _dkstats(target: LinuxTarget, disk: Object) -> tuple[int, int]:
    """A queue without blk-mq: the in_flight counters of the disk's per-CPU stats."""
    from ..cpuspec import cpu_count
    part0 = disk.part0
    stats = int(part0.deref_().bd_stats if part0.type_.is_pointer() else part0.dkstats)
    off = target.offsetof("struct disk_stats", "in_flight")
    read = write = 0
    for cpu in range(cpu_count(target)):
        at = target.per_cpu_address(stats, cpu) + off
        read += target.space.read_u64(at)
        write += target.space.read_u64(at + 8)
    return read, write


def _hw_tags(target: LinuxTarget, q: Object) -> list[int]:
    """The blk_mq_tags to look at: the tag set's shared tags, else each hardware
    queue's."""
    tag_set = q.tag_set.deref_()
    shared = _shared_flag(target)
    if shared and int(tag_set.flags) & shared and tag_set.type_.strip_typedefs().has_member(
            "shared_tags"):
        return [int(tag_set.shared_tags)]
    qt = q.type_.strip_typedefs()
    if qt.has_member("hctx_table"):
        from .xarray import entries
        hctxs = [e for _i, e in entries(target, int(q.hctx_table.address_of_()))]
    else:
        base = int(q.queue_hw_ctx)
        hctxs = [target.space.read_u64(base + 8 * i) for i in range(int(q.nr_hw_queues))]
    return [int(target.object_at("struct blk_mq_hw_ctx", h).tags) for h in hctxs]


def _shared_flag(target: LinuxTarget) -> int:
    """BLK_MQ_F_TAG_HCTX_SHARED (5.10+), 0 where the kernel has no such flag."""
    from ..typeinfo import enumerator
    found = enumerator(target, "BLK_MQ_F_TAG_HCTX_SHARED")
    return int(found.value) if found is not None else 0


def _count_tags(target: LinuxTarget, queue: int, tags: int, counts: list[int]) -> None:
    t = target.object_at("struct blk_mq_tags", tags)
    tt = t.type_.strip_typedefs()
    reserved = int(t.nr_reserved_tags)
    rqs = int(t.rqs)
    rq_t = target.type("struct request").strip_typedefs()
    q_off, flags_off, state_off = (rq_t.offsetof("q"), rq_t.offsetof("cmd_flags"),
                                   rq_t.offsetof("state"))
    sb_off = target.offsetof("struct sbitmap_queue", "sb")

    def queue_of(member: str) -> int:
        m = t.member_(member)
        return int(m) if m.type_.is_pointer() else tags + tt.offsetof(member)
    for member, is_reserved in (("breserved_tags", True), ("bitmap_tags", False)):
        if is_reserved and not reserved:
            continue
        sb = sbitmap.load(target, queue_of(member) + sb_off)
        for bit in sb.set_bits():
            bitnr = bit if is_reserved else bit + reserved
            rq = target.space.read_u64(rqs + 8 * bitnr)
            if rq < target.space.page_offset:
                continue
            if (target.space.read_u64(rq + q_off) == queue
                    and target.space.read_u32(rq + state_off) == MQ_RQ_IN_FLIGHT):
                counts[target.space.read_u32(rq + flags_off) & 0xFF & 1] += 1
