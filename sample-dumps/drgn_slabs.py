"""drgn script (``drgn -c VMCORE -s VMLINUX sample-dumps/drgn_slabs.py``): every slab
cache's usage as drgn counts it (slab_cache_usage: per-node counters, partial slabs,
per-CPU slabs and sheaves, barns), one line per cache in kmem -s's columns, the judge
of `kmem -s` where crash cannot read the caches (7.x)."""
from drgn.helpers.linux.slab import for_each_slab_cache, slab_cache_usage

print("CACHE             OBJSIZE  ALLOCATED     TOTAL  SLABS  NAME")
for cache in for_each_slab_cache(prog):  # noqa: F821 (drgn's global)
    name = cache.name.string_().decode(errors="replace")
    try:
        u = slab_cache_usage(cache)
        print("%x %8d %10d %9d %6d  %s" % (cache.value_(), cache.object_size.value_(),
                                          u.active_objs, u.num_objs, u.num_slabs, name))
    except Exception as e:      # one cache's damage: say it, go on with the others
        print("%x %8d  usage: %s  %s" % (cache.value_(), cache.object_size.value_(), e, name))
