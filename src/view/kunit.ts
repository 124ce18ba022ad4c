/**
 * A trace as a KUnit test skeleton: the same sequence with the kernel's own calls
 * (iommu_sva_bind_device, vm_mmap under kthread_use_mm, vfree, mmu_notifier_synchronize, …),
 * each step followed by the result the spec expects. What KUnit cannot do by itself (pick the
 * SVA-capable devices, make a device issue DMA at a PASID, fork, mprotect another mm, arm fault
 * injection) is a helper with a TODO for the user; the generated file says so at the top.
 * The user-page layout is the harness's (src/shared/layout.ts): page p at
 * 0x40000000 + (p >> 1) * 2 MiB + (p & 1) * 4 KiB, so pages land in the same page tables.
 */
import { FAULTS, IOVA_PAGES, MAX_HWPTS, NESTED_HWPT, formatToken } from '../shared/index.js';
import type { Command, Observation } from '../shared/index.js';
import { formatCommand, oneLine } from '../trace/index.js';
import type { Trace } from '../trace/index.js';
import { objectLabel } from './kernelNames.js';
import { ruleOf } from './violationBlock.js';

/** C comment text: no comment terminator, one line. */
const cText = (s: string): string => oneLine(s).replace(/\*\//g, '* /').replace(/→/g, '->').replace(/[^\x20-\x7e]/g, '?');

const ERRNO_EXPR = (errno: string): string => `-${errno}`;

const prot = (p: 'none' | 'r' | 'rw'): string => (p === 'none' ? 'PROT_NONE' : p === 'r' ? 'PROT_READ' : 'PROT_READ | PROT_WRITE');

/** The expectation a step's spec observation gives, as KUnit checks or a comment. */
const expectLines = (cmd: Command, exp: Observation | undefined, ret: string): string[] => {
  if (exp === undefined) return ['\t/* not run when the trace was recorded: no expectation */'];
  switch (cmd.kind) {
    case 'bind':
      if (!exp.ok) return [`\tKUNIT_EXPECT_EQ(test, PTR_ERR(${ret}), ${ERRNO_EXPR(exp.errno)});`];
      return [
        `\tKUNIT_ASSERT_FALSE(test, IS_ERR(${ret}));`,
        `\t/* the harness's PASID allocator gave ${exp.value ?? '?'}; a real IDA may differ, it must be valid */`,
        `\tr->pasid[${(cmd as { mm: number }).mm}] = iommu_sva_get_pasid(${ret});`,
        `\tKUNIT_EXPECT_NE(test, r->pasid[${(cmd as { mm: number }).mm}], IOMMU_PASID_INVALID);`,
      ];
    case 'dma':
    case 'prefetch':
      if (!exp.ok) return [`\tKUNIT_EXPECT_LT(test, ${ret}, 0); /* expected: the DMA faults (${exp.errno}) */`];
      return [
        `\tKUNIT_EXPECT_EQ(test, ${ret}, 0);`,
        exp.value === undefined
          ? '\t/* expected: a page request is pending (PRI) */'
          : `\t/* expected content: ${formatToken(exp.value)} (the harness's token: mm slot, page, incarnation) */`,
      ];
    case 'prg':
      if (!exp.ok) return [`\tKUNIT_EXPECT_LT(test, ${ret}, 0); /* expected: the group is not sent (${exp.errno}) */`];
      return [`\tKUNIT_EXPECT_EQ(test, ${ret}, 0);`, '\t/* expected: the page requests are pending (PRI) */'];
    case 'serviceFaults':
      return [`\t/* expected: ${exp.ok ? `${exp.value ?? 0} page request(s) answered Success` : exp.errno} */`];
    default:
      if (ret === '') return exp.ok ? [] : [`\t/* expected: ${ERRNO_EXPR(exp.errno)} */`];
      return [`\tKUNIT_EXPECT_EQ(test, ${ret}, ${exp.ok ? '0' : ERRNO_EXPR(exp.errno)});`];
  }
};

const h = (c: { mm: number; dev: number }): string => `r->handle[${c.mm}][${c.dev}]`;

/** The calls of one command. */
/** The allocation of HWPT h on first use; the nested one needs its parent and the guest's table. */
const hwptAllocLine = (hwpt: number, dev: number): string => hwpt === NESTED_HWPT
  ? `\t\tr->hwpt[${hwpt}] = sva_repro_alloc_nested(r->dev[${dev}], r->hwpt[0]); /* TODO: helper (allocates hwpt[0] too; ops->domain_alloc_nested with IOMMU_HWPT_DATA_VTD_S1) */`
  : `\t\tr->hwpt[${hwpt}] = iommu_paging_domain_alloc_flags(r->dev[${dev}], ${hwpt === 0 ? 'IOMMU_HWPT_ALLOC_NEST_PARENT' : '0'});`;

const callLines = (cmd: Command): { lines: string[]; ret: string } => {
  switch (cmd.kind) {
    case 'spawn':
      return { lines: [`\tr->mm[${cmd.mm}] = sva_repro_mm_alloc(test);`, `\tr->pasid[${cmd.mm}] = IOMMU_PASID_INVALID;`], ret: '' };
    case 'bind':
      return { lines: [`\t${h(cmd)} = iommu_sva_bind_device(r->dev[${cmd.dev}], r->mm[${cmd.mm}]);`], ret: h(cmd) };
    case 'unbind':
      return { lines: [`\tiommu_sva_unbind_device(${h(cmd)});`], ret: '' };
    case 'mmap':
      return {
        lines: [`\tret = sva_repro_mmap(r->mm[${cmd.mm}], ${cmd.first}, ${cmd.count}, ${prot(cmd.prot)});`],
        ret: 'ret',
      };
    case 'munmap':
      return { lines: [`\tret = sva_repro_munmap(r->mm[${cmd.mm}], ${cmd.first}, ${cmd.count});`], ret: 'ret' };
    case 'touch':
      return { lines: [`\tret = sva_repro_touch(r->mm[${cmd.mm}], SVA_REPRO_PAGE(${cmd.page}), ${cmd.write});`], ret: 'ret' };
    case 'mprotect':
      return { lines: [`\tret = sva_repro_mprotect(r->mm[${cmd.mm}], SVA_REPRO_PAGE(${cmd.page}), ${prot(cmd.prot)}); /* TODO: helper */`], ret: 'ret' };
    case 'dma':
      return {
        lines: [`\tret = sva_repro_dma(r->dev[${cmd.dev}], r->pasid[${cmd.mm}], SVA_REPRO_PAGE(${cmd.page}), ${cmd.write}); /* TODO: helper */`],
        ret: 'ret',
      };
    case 'prg': {
      const pasid = cmd.rid ? 'IOMMU_NO_PASID' : `r->pasid[${cmd.mm}]`;
      return {
        lines: [`\tret = sva_repro_page_request_group(r->dev[${cmd.dev}], ${pasid}, SVA_REPRO_PAGE(${cmd.page}), ${cmd.count}, ${cmd.write}, ${cmd.last}); /* TODO: helper (the endpoint's PRI: ${cmd.rid ? 'no PASID prefix' : 'PASID prefix'}, LAST ${cmd.last ? 'on the final request' : 'held back'}) */`],
        ret: 'ret',
      };
    }
    case 'prefetch':
      return {
        lines: [`\tret = sva_repro_dma(r->dev[${cmd.dev}], r->pasid[${cmd.mm}], SVA_REPRO_PAGE(${cmd.page}), false); /* ATS translation request */`],
        ret: 'ret',
      };
    case 'prefetchKernel':
      return {
        lines: [
          `\t/* the hardware adversary: an IOMMU walk of the kernel address ${`k${cmd.kpage}`} through PASID of mm${cmd.mm} */`,
          `\tsva_repro_dma(r->dev[${cmd.dev}], r->pasid[${cmd.mm}], (unsigned long)r->kpage[${cmd.kpage}], false); /* TODO: helper */`,
        ],
        ret: '',
      };
    case 'exit':
      return { lines: [`\tmmput(r->mm[${cmd.mm}]); /* the last mm_users reference: exit_mmap runs the notifiers' release */`], ret: '' };
    case 'mmdrop':
      return { lines: [`\tmmdrop(r->mm[${cmd.mm}]); /* the exited task's mm_count reference */`], ret: '' };
    case 'fork':
      return {
        lines: [
          `\tr->mm[${cmd.child}] = sva_repro_fork(test, r->mm[${cmd.mm}]); /* TODO: dup_mm is not exported; fork a user task */`,
          `\tr->pasid[${cmd.child}] = IOMMU_PASID_INVALID; /* the child has no PASID (mm_pasid_init) */`,
        ],
        ret: '',
      };
    case 'gracePeriod':
      return { lines: ['\tmmu_notifier_synchronize(); /* the SRCU grace period: deferred free_notifier runs */'], ret: '' };
    case 'serviceFaults':
      return { lines: ['\tsva_repro_flush_iopf(r); /* iopf_queue_flush_dev() on each device: queued page requests are handled */'], ret: '' };
    case 'vmalloc':
      return { lines: [`\tr->kpage[${cmd.kpage}] = vmalloc(PAGE_SIZE);`, `\tKUNIT_ASSERT_NOT_NULL(test, r->kpage[${cmd.kpage}]);`], ret: '' };
    case 'vfree':
      return { lines: [`\tvfree(r->kpage[${cmd.kpage}]);`], ret: '' };
    case 'unplug':
      return { lines: [`\tpci_stop_and_remove_bus_device_locked(to_pci_dev(r->dev[${cmd.dev}])); /* surprise removal stands in */`], ret: '' };
    case 'failNext':
      return { lines: [`\t/* TODO: fail the next call at '${cmd.site}' (failslab / fail_page_alloc with a filter on its caller) */`], ret: '' };
    case 'failNth':
      return { lines: [`\t/* TODO: write ${cmd.n} to /proc/self/fail-nth: the ${cmd.n}th fallible call of the next command fails */`], ret: '' };
    case 'attachPasid':
      return {
        lines: [
          `\tif (!r->hwpt[${cmd.hwpt}]) /* IOMMU_HWPT_ALLOC on first use: hwpt 0 is a nest parent, 1 first-stage, 2 nested over 0 */`,
          hwptAllocLine(cmd.hwpt, cmd.dev),
          `\tret = iommu_attach_device_pasid(r->hwpt[${cmd.hwpt}], r->dev[${cmd.dev}], ${cmd.pasid}, NULL);`,
          `\tif (!ret) r->hwpt_pasid[${cmd.hwpt}][${cmd.dev}] = ${cmd.pasid};`,
        ],
        ret: 'ret',
      };
    case 'replacePasid':
      return {
        lines: [
          `\tif (!r->hwpt[${cmd.hwpt}])`,
          hwptAllocLine(cmd.hwpt, cmd.dev),
          `\tret = iommu_replace_device_pasid(r->hwpt[${cmd.hwpt}], r->dev[${cmd.dev}], r->hwpt_pasid[${cmd.from}][${cmd.dev}], NULL);`,
          `\tif (!ret) r->hwpt_pasid[${cmd.hwpt}][${cmd.dev}] = r->hwpt_pasid[${cmd.from}][${cmd.dev}];`,
        ],
        ret: 'ret',
      };
    case 'detachPasid':
      return { lines: [`\tiommu_detach_device_pasid(r->hwpt[${cmd.hwpt}], r->dev[${cmd.dev}], r->hwpt_pasid[${cmd.hwpt}][${cmd.dev}]);`], ret: '' };
    case 'iommuMap':
      return {
        lines: [
          `\tr->iova_buf[${cmd.hwpt}][${cmd.page}] = (void *)get_zeroed_page(GFP_KERNEL);`,
          `\tret = iommu_map(r->hwpt[${cmd.hwpt}], SVA_REPRO_IOVA(${cmd.page}), virt_to_phys(r->iova_buf[${cmd.hwpt}][${cmd.page}]), PAGE_SIZE, ${cmd.write ? 'IOMMU_READ | IOMMU_WRITE' : 'IOMMU_READ'}, GFP_KERNEL);`,
        ],
        ret: 'ret',
      };
    case 'iommuUnmap':
      return {
        lines: [
          `\tiommu_unmap(r->hwpt[${cmd.hwpt}], SVA_REPRO_IOVA(${cmd.page}), PAGE_SIZE);`,
          `\tfree_page((unsigned long)r->iova_buf[${cmd.hwpt}][${cmd.page}]);`,
        ],
        ret: '',
      };
    case 'dmaIova':
      return {
        lines: [`\tret = sva_repro_dma(r->dev[${cmd.dev}], r->hwpt_pasid[${cmd.hwpt}][${cmd.dev}], SVA_REPRO_IOVA(${cmd.page}), ${cmd.write}); /* TODO: helper */`],
        ret: 'ret',
      };
    case 'dmaPasid':
      return {
        lines: [`\tret = sva_repro_dma(r->dev[${cmd.dev}], ${cmd.pasid}, SVA_REPRO_PAGE(${cmd.page}), ${cmd.write}); /* TODO: helper */`],
        ret: 'ret',
      };
    case 'stopMarker':
      return {
        lines: [`\tsva_repro_stop_pasid(r->dev[${cmd.dev}], r->pasid[${cmd.mm}]); /* TODO: the device-specific PASID stop, with a Stop Marker (PCIe 10.4.1.2) */`],
        ret: '',
      };
    case 'guestMap':
      return { lines: [`\t/* TODO: the guest writes its stage-1 leaf: IOVA page ${cmd.page} -> GPA page ${cmd.gpa} (${cmd.write ? 'rw' : 'r'}) in the table of r->hwpt[2] */`], ret: '' };
    case 'guestUnmap':
      return {
        lines: [
          `\t/* TODO: the guest clears its stage-1 leaf of IOVA page ${cmd.page}, then: */`,
          `\tret = sva_repro_hwpt_invalidate(r->hwpt[2], SVA_REPRO_IOVA(${cmd.page}), 1, IOMMU_VTD_INV_FLAGS_LEAF); /* TODO: helper (domain->ops->cache_invalidate_user) */`,
        ],
        ret: 'ret',
      };
    case 'destroyHwpt':
      return { lines: [`\tsva_repro_hwpt_destroy(r, ${cmd.hwpt}); /* TODO: helper: iommu_unmap of every IOVA page mapped, then iommu_domain_free(r->hwpt[${cmd.hwpt}]) (-EBUSY while attached) */`], ret: '' };
    case 'migrate':
      return { lines: [`\t/* TODO: migrate SVA_REPRO_PAGE(${cmd.page}) of mm${cmd.mm} (move_pages() from a user task, or migrate_pages() on its folio) */`], ret: '' };
    default: {
      const never: never = cmd;
      throw new Error(`callLines: unknown command ${JSON.stringify(never)}`);
    }
  }
};

const HELPERS = `/* ---- helpers: what KUnit cannot do for you is marked TODO ---- */

#define SVA_REPRO_UBASE	0x40000000UL
/* The harness's layout: two user pages per 2 MiB, so they sit in distinct PTE tables. */
#define SVA_REPRO_PAGE(p)	(SVA_REPRO_UBASE + ((unsigned long)(p) >> 1) * SZ_2M + ((p) & 1) * PAGE_SIZE)
/* IOVA page p of a paging domain sits where user page p would (pairs share a leaf table). */
#define SVA_REPRO_IOVA(p)	SVA_REPRO_PAGE(p)

static __maybe_unused struct mm_struct *sva_repro_mm_alloc(struct kunit *test)
{
	struct mm_struct *mm = mm_alloc();

	KUNIT_ASSERT_NOT_NULL(test, mm);
	mmgrab(mm); /* the mm_count reference the task drops at mmdrop() */
	return mm;
}

/* Pages first .. first + count - 1, one VMA each (the harness's pages are not contiguous). */
static __maybe_unused int sva_repro_mmap(struct mm_struct *mm, int first, int count, unsigned long prot)
{
	int ret = 0, i;

	kthread_use_mm(mm);
	for (i = first; i < first + count && !ret; i++)
		if (IS_ERR_VALUE(vm_mmap(NULL, SVA_REPRO_PAGE(i), PAGE_SIZE, prot,
					 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, 0)))
			ret = -ENOMEM;
	kthread_unuse_mm(mm);
	return ret;
}

static __maybe_unused int sva_repro_munmap(struct mm_struct *mm, int first, int count)
{
	int ret = 0, i;

	kthread_use_mm(mm);
	for (i = first; i < first + count && !ret; i++)
		ret = vm_munmap(SVA_REPRO_PAGE(i), PAGE_SIZE);
	kthread_unuse_mm(mm);
	return ret;
}

static __maybe_unused int sva_repro_touch(struct mm_struct *mm, unsigned long addr, bool write)
{
	u8 v = 0;
	int ret;

	kthread_use_mm(mm);
	ret = write ? put_user(v, (u8 __user *)addr) : get_user(v, (u8 __user *)addr);
	kthread_unuse_mm(mm);
	return ret;
}

/* TODO: no exported mprotect for another mm; do it from a user task or call do_mprotect_pkey() in a built-in test. */
static __maybe_unused int sva_repro_mprotect(struct mm_struct *mm, unsigned long addr, unsigned long prot)
{
	return -EOPNOTSUPP;
}

/* TODO: make the device issue a PASID-tagged DMA (idxd, uacce, or your test device). */
static __maybe_unused int sva_repro_dma(struct device *dev, ioasid_t pasid, unsigned long addr, bool write)
{
	return -EOPNOTSUPP;
}

/* TODO: fork a user task; the child's mm must have no PASID and no SVA notifiers. */
static __maybe_unused struct mm_struct *sva_repro_fork(struct kunit *test, struct mm_struct *parent)
{
	kunit_skip(test, "fork needs a user task");
	return NULL;
}
`;

/** The C file. */
export const traceToKunit = (trace: Trace, name = 'trace'): string => {
  const t = trace.topology;
  const v = trace.violation;
  const fault = FAULTS.find((f) => f.id === trace.fault);
  const rule = v === undefined ? undefined : ruleOf(v.invariant);
  const devs = t.devices.map((d, i) =>
    ` *   dev${i}: behind ${objectLabel(t.platform, 'iommu', d.iommu)}, group ${d.group}, ${d.pasidBits} PASID bits, ATS ${d.ats ? 'on' : 'off'}, PRI ${d.pri ? 'on' : 'off'}`);
  const out = [
    '// SPDX-License-Identifier: GPL-2.0',
    '/*',
    ` * KUnit reproducer skeleton generated by sva-harness from ${cText(name)}.`,
    ` * Platform ${t.platform}, ${t.iommus.length} IOMMU(s), ${t.devices.length} device(s), ${t.mms} mm(s), ${t.pages} user page(s), ${t.kpages} vmalloc page(s).`,
    ...(fault === undefined ? [] : [` * Fault ${fault.id}: ${cText(fault.title)}; fixed by ${cText(fault.fix)}.`]),
    ...(v === undefined ? [' * The trace ran clean.'] : [
      ` * The harness found ${cText(v.invariant)} (${cText(rule?.title ?? v.title)}) at step ${v.step}: ${cText(v.message)}`,
      ...(rule === undefined ? [] : [` * Rule: ${cText(rule.kernelRule)}`, ` * Source: ${cText(rule.source)}`]),
    ]),
    ' *',
    ' * Needs: CONFIG_KUNIT=y, CONFIG_IOMMU_SVA=y, the platform\'s IOMMU driver, and the test',
    ' * built in (=y: mm_alloc, kthread_use_mm and the IOMMU internals are not all exported).',
    ' * Left to you: sva_repro_get_devices() (devices as below), sva_repro_dma() (a device that',
    ' * issues PASID-tagged DMA), the TODO helpers, and the hardware-side check at the failing step.',
    ' *',
    ' * Devices (harness ids):',
    ...devs,
    ' */',
    '#include <kunit/test.h>',
    '#include <linux/iommu.h>',
    '#include <linux/kthread.h>',
    '#include <linux/mm.h>',
    '#include <linux/mman.h>',
    '#include <linux/mmu_notifier.h>',
    '#include <linux/pci.h>',
    '#include <linux/sched/mm.h>',
    '#include <linux/sizes.h>',
    '#include <linux/uaccess.h>',
    '#include <linux/vmalloc.h>',
    '',
    'struct sva_repro {',
    `\tstruct device *dev[${t.devices.length}];`,
    `\tstruct mm_struct *mm[${t.mms}];`,
    `\tstruct iommu_sva *handle[${t.mms}][${t.devices.length}];`,
    '\t/* the mm\'s PASID once bound (the same for every device: one PASID per mm) */',
    `\tioasid_t pasid[${t.mms}];`,
    `\tvoid *kpage[${Math.max(1, t.kpages)}];`,
    '\t/* iommufd paging domains (HWPTs), the PASID each is attached at per device, their IOVA pages */',
    `\tstruct iommu_domain *hwpt[${MAX_HWPTS}];`,
    `\tioasid_t hwpt_pasid[${MAX_HWPTS}][${t.devices.length}];`,
    `\tvoid *iova_buf[${MAX_HWPTS}][${IOVA_PAGES}];`,
    '};',
    '',
    HELPERS,
    '/* TODO: find the SVA-capable devices listed in the header, in harness order; 0 when all are found. */',
    'static int sva_repro_get_devices(struct sva_repro *r)',
    '{',
    '\treturn -ENODEV;',
    '}',
    '',
    'static __maybe_unused void sva_repro_flush_iopf(struct sva_repro *r)',
    '{',
    '\tunsigned int i;',
    '',
    '\tfor (i = 0; i < ARRAY_SIZE(r->dev); i++)',
    '\t\tiopf_queue_flush_dev(r->dev[i]);',
    '}',
    '',
    'static void sva_repro_test(struct kunit *test)',
    '{',
    '\tstruct sva_repro *r = kunit_kzalloc(test, sizeof(*r), GFP_KERNEL);',
    '\tlong ret = 0;',
    '',
    '\tKUNIT_ASSERT_NOT_NULL(test, r);',
    '\tfor (unsigned int i = 0; i < ARRAY_SIZE(r->pasid); i++)',
    '\t\tr->pasid[i] = IOMMU_PASID_INVALID;',
    '\tif (sva_repro_get_devices(r))',
    '\t\tkunit_skip(test, "the devices this trace needs are not present");',
  ];
  for (const [i, cmd] of trace.commands.entries()) {
    const { lines, ret } = callLines(cmd);
    out.push('', `\t/* step ${i}: ${formatCommand(cmd)} */`, ...lines, ...expectLines(cmd, trace.steps[i]?.expected, ret));
    if (v !== undefined && v.step === i) {
      out.push(
        `\t/*`,
        `\t * The harness's kernel broke ${cText(v.invariant)} here: ${cText(v.message)}`,
        `\t * TODO: check it on the hardware (e.g. a DMA through the stale entry, or the IOMMU's`,
        `\t * invalidation-queue trace events) and fail the test when it holds.`,
        `\t */`,
      );
    }
  }
  out.push(
    '\t(void)ret;',
    '}',
    '',
    'static struct kunit_case sva_repro_cases[] = {',
    '\tKUNIT_CASE(sva_repro_test),',
    '\t{}',
    '};',
    '',
    'static struct kunit_suite sva_repro_suite = {',
    '\t.name = "sva-repro",',
    '\t.test_cases = sva_repro_cases,',
    '};',
    'kunit_test_suite(sva_repro_suite);',
    '',
    'MODULE_DESCRIPTION("SVA reproducer generated by sva-harness");',
    'MODULE_LICENSE("GPL");',
    '',
  );
  return out.join('\n');
};
