"""x86-64 facts every layer may use: the page size and the kernel's fixed mappings."""
from __future__ import annotations

PAGE_SHIFT = 12
PAGE_SIZE = 1 << PAGE_SHIFT
PAGE_MASK = PAGE_SIZE - 1

#: where the kernel image is mapped (__START_KERNEL_map); its text is at most 1 GiB
START_KERNEL_MAP = 0xFFFFFFFF80000000
KERNEL_IMAGE_MAX = 1 << 30

#: THREAD_SIZE of an x86-64 kernel built without KASAN (16 KiB); a kernel's own size
#: comes from its symbols (targets/linux/tasks.thread_size)
DEFAULT_THREAD_SIZE = 16384
