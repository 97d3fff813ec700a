// SPDX-License-Identifier: GPL-2.0
/*
 * xcrash_lab: ways for a stock kernel to die on purpose, for the sample-dumps factory.
 *
 * Debian's cloud kernels have no LKDTM; this out-of-tree module, built against the
 * distro's headers, gives the factory the deaths LKDTM would.  Write a word to
 * /proc/xcrash_lab and the writing task (name it: it is the "crashing task") dies so:
 *
 *   oops        NULL write in module code (page fault in lab_oops)
 *   oops-core   a core function faults on a bad pointer the module passes (kstrtoull)
 *   bug         BUG() in module code (invalid opcode)
 *   warn        WARN_ON(1) (a panic with panic_on_warn=1)
 *   softlockup  spins with preemption disabled (softlockup_panic=1)
 *   spin-irqoff spins with interrupts disabled until an NMI (the host's `nmi`) ends it
 *   hung        sleeps uninterruptibly for ever (hung_task_panic=1)
 *   overflow    recurses until the stack's guard page (kernel stack overflow)
 *   softirq     a timer callback (softirq, IRQ stack) writes to NULL
 *
 * Nothing here is for a machine anyone cares about.
 */
#include <linux/completion.h>
#include <linux/delay.h>
#include <linux/init.h>
#include <linux/kernel.h>
#include <linux/module.h>
#include <linux/proc_fs.h>
#include <linux/string.h>
#include <linux/timer.h>
#include <linux/uaccess.h>

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("xcrash sample-dumps: ways to die on purpose");

static DECLARE_COMPLETION(never);
static struct timer_list lab_timer;
static volatile int lab_sink;

static noinline void lab_oops(void)
{
	*(volatile int *)NULL = 0x5ca1ab1e;
}

static noinline void lab_oops_core(void)
{
	unsigned long long value;

	/* the fault happens inside the kernel's own string parser */
	lab_sink = kstrtoull((const char *)16, 10, &value);
}

static noinline void lab_bug(void)
{
	BUG();
}

static noinline void lab_warn(void)
{
	WARN_ON(lab_sink == 0);
}

static noinline void lab_softlockup(void)
{
	preempt_disable();
	for (;;)
		cpu_relax();
}

static noinline void lab_spin_irqoff(void)
{
	local_irq_disable();
	for (;;)
		cpu_relax();
}

static noinline void lab_hung(void)
{
	wait_for_completion(&never);
}

static noinline int lab_recurse(int depth)
{
	volatile char pad[512];

	pad[0] = (char)depth;
	pad[511] = (char)depth;
	return lab_recurse(depth + 1) + pad[0] + pad[511];
}

static noinline void lab_overflow(void)
{
	lab_sink = lab_recurse(0);
}

static void lab_timer_fn(struct timer_list *t)
{
	lab_oops();
}

static noinline void lab_softirq(void)
{
	timer_setup(&lab_timer, lab_timer_fn, 0);
	mod_timer(&lab_timer, jiffies + 1);
	msleep(1000);
}

static const struct {
	const char *word;
	void (*die)(void);
} ways[] = {
	{ "oops", lab_oops },
	{ "oops-core", lab_oops_core },
	{ "bug", lab_bug },
	{ "warn", lab_warn },
	{ "softlockup", lab_softlockup },
	{ "spin-irqoff", lab_spin_irqoff },
	{ "hung", lab_hung },
	{ "overflow", lab_overflow },
	{ "softirq", lab_softirq },
};

static ssize_t lab_write(struct file *file, const char __user *buf, size_t len, loff_t *pos)
{
	char word[32];
	size_t n = min(len, sizeof(word) - 1);
	int i;

	if (copy_from_user(word, buf, n))
		return -EFAULT;
	word[n] = '\0';
	strim(word);
	for (i = 0; i < ARRAY_SIZE(ways); i++) {
		if (!strcmp(word, ways[i].word)) {
			pr_emerg("xcrash_lab: %s by %s (pid %d)\n", word, current->comm,
				 task_pid_nr(current));
			ways[i].die();
			return len;
		}
	}
	return -EINVAL;
}

static const struct proc_ops lab_ops = {
	.proc_write = lab_write,
};

static int __init lab_init(void)
{
	if (!proc_create("xcrash_lab", 0200, NULL, &lab_ops))
		return -ENOMEM;
	return 0;
}

static void __exit lab_exit(void)
{
	remove_proc_entry("xcrash_lab", NULL);
}

module_init(lab_init);
module_exit(lab_exit);
