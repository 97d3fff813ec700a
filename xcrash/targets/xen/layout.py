"""Where Xen keeps things when its DWARF is not at hand: the offsets that have not
moved (x86_64, Xen 4.2 to 4.17), each written once, and the places the few that did
move have had since (which one a dump has: ``domainlist.fixed_layout``).

With a xen-syms that has DWARF the helpers ask the types instead (the vCPU members:
:func:`xcrash.targets.xen.vcpus.vcpu_layout`); these are what a symbols-only
xen-syms (Debian's -dbg package), or none, leaves to go by.  Each is checked where it
is used (a vCPU's ``domain`` must be its domain, its ``vcpu_id`` its index, ...).
"""
from __future__ import annotations

# -- struct vcpu's first members: int vcpu_id, int processor, vcpu_info_t *vcpu_info,
#    struct domain *domain (unchanged since Xen 3)
VCPU_ID = 0
VCPU_PROCESSOR = 4
VCPU_DOMAIN = 16
#: 4.18 on: struct guest_area vcpu_info_area (two pointers) before the domain
VCPU_DOMAIN_4_18 = 24

# -- struct domain's first members: domid_t domain_id, unsigned int max_vcpus,
#    struct vcpu **vcpu (since Xen 4.2)
DOMAIN_ID = 0
DOMAIN_MAX_VCPUS = 4
DOMAIN_VCPU_ARRAY = 8
#: 4.20 on: uint64_t unique_id before the vCPU array
DOMAIN_VCPU_ARRAY_4_20 = 16

# -- struct cpu_info at the top of a pCPU's primary stack: the guest frame
#    (struct cpu_user_regs, 200 bytes) first, then processor_id and current_vcpu;
#    its size varies by version (4.17: 264)
CPU_INFO_PROCESSOR_ID = 200
CPU_INFO_CURRENT_VCPU = 208
CPU_INFO_MIN_SIZE = 216
CPU_INFO_MAX_SIZE = 1024

# -- per_cpu(cpu_time): the local system time (ns since boot) at the last calibration,
#    8 bytes in: stamp.local_stime after stamp.local_tsc (4.7 on), stime_local_stamp after
#    local_tsc_stamp before
CPU_TIME_LOCAL_STIME = 8

# -- struct cpuinfo_x86 (cpu_data[]): char x86_vendor_id[16] then char x86_model_id[64];
#    where they start moves with x86_capability[NCAPINTS], so they are found by the vendor
VENDOR_IDS = (b"GenuineIntel", b"AuthenticAMD", b"CentaurHauls", b"HygonGenuine", b"  Shanghai  ")
VENDOR_ID_SIZE = 16
MODEL_ID_SIZE = 64

# -- the TSS inside per_cpu(tss_page) (Xen 4.16+: after ist_ssp[8]); a TSS's rsp0 at
#    +4 points at &cpu_info->guest_cpu_user_regs.es
TSS_PAGE_TSS = 64
TSS_RSP0 = 4

# -- struct cpu_user_regs, the public ABI (xen-x86_64.h): name -> (offset, size)
CPU_USER_REGS = {
    "r15": (0, 8), "r14": (8, 8), "r13": (16, 8), "r12": (24, 8), "rbp": (32, 8),
    "rbx": (40, 8), "r11": (48, 8), "r10": (56, 8), "r9": (64, 8), "r8": (72, 8),
    "rax": (80, 8), "rcx": (88, 8), "rdx": (96, 8), "rsi": (104, 8), "rdi": (112, 8),
    "rip": (128, 8), "cs": (136, 2), "rflags": (144, 8), "rsp": (152, 8), "ss": (160, 2),
    "es": (168, 2), "ds": (176, 2), "fs": (184, 2), "gs": (192, 2),
}
CPU_USER_REGS_SIZE = 200
#: what entry code and the hardware push (up to ss); also what a context switch
#: copies to v->arch.user_regs
CPU_USER_REGS_SAVED = CPU_USER_REGS["es"][0]

# -- the public shared_info page (x86_64): arch.max_pfn, arch.pfn_to_mfn_frame_list_list
SHARED_INFO_MAX_PFN = 3088
SHARED_INFO_P2M_FLL = 3096


def regs_from_bytes(raw: bytes, size: int = CPU_USER_REGS_SIZE) -> dict[str, int]:
    """A struct cpu_user_regs as a register dict (only the members within ``size``)."""
    regs = {}
    for name, (off, n) in CPU_USER_REGS.items():
        if off + n <= size:
            regs[name] = int.from_bytes(raw[off:off + n], "little")
    return regs
