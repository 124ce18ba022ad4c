/**
 * A mock IOMMU driver for the core's tests, in the style of the iommufd selftest's mock domain:
 * a trivial unit that walks the CPU page tables on every DMA (no caches, so nothing can go
 * stale), domain ops that record every call, and configurable failures. It names no real
 * driver and uses only the ops tables of src/impl/core.
 */
import { type Co, sync } from '../../src/impl/core/sched.js';
import { Counters } from '../../src/hw/counters.js';
import type { PciDevice } from '../../src/hw/device.js';
import type { IommuUnit, Translation } from '../../src/hw/iommu.js';
import { PTE_P, PTE_U, PTE_W, pteFrame, type PhysMem } from '../../src/hw/mem.js';
import { levelIndex } from '../../src/hw/radix.js';
import type { Errno, Platform, Result } from '../../src/shared/index.js';
import { err, ok } from '../../src/shared/index.js';
import { mmu_notifier_put, mmu_notifier_register } from '../../src/impl/core/mmuNotifier.js';
import type { IommuDomainOps, IommuOps, MmuNotifierOps } from '../../src/impl/core/ops.js';
import type { Device, IommuDevice, IommuDomain, IommuDriver, Kernel, MmStruct, MmuNotifier, ProbeContext } from '../../src/impl/core/types.js';

interface MockEntry {
  readonly pgd: number;
  readonly levels: number;
  /** release ran: blocked without a fault record (VT-d FPD / SMMU EPD0 stand-in). */
  released: boolean;
}

/** The unit: PASID entries per (sid, pasid) and a walk of the CPU tables on every request. */
export class MockUnit implements IommuUnit {
  readonly counters = new Counters();
  readonly entries = new Map<string, MockEntry>();
  constructor(readonly name: string, private readonly mem: PhysMem) {}

  translate(dev: PciDevice, pasid: number, vpn: number, write: boolean): Translation {
    this.counters.bump('translate');
    const e = this.entries.get(`${dev.sid}:${pasid}`);
    if (e === undefined) return { ok: false, fault: 'no-pasid-entry' };
    if (e.released) return { ok: false, fault: 'fault-disabled' };
    let table = e.pgd;
    for (let level = e.levels; level > 1; level--) {
      const pe = this.mem.hwEntry(table, levelIndex(vpn, level), this.name);
      if ((pe & PTE_P) === 0) return { ok: false, fault: 'not-present' };
      table = pteFrame(pe);
    }
    const leaf = this.mem.hwEntry(table, levelIndex(vpn, 1), this.name);
    if ((leaf & PTE_P) === 0) return { ok: false, fault: 'not-present' };
    if ((leaf & PTE_U) === 0 || (write && (leaf & PTE_W) === 0)) return { ok: false, fault: 'no-permission' };
    return { ok: true, frame: pteFrame(leaf), write: (leaf & PTE_W) !== 0 };
  }
}

export type MockEvent =
  | { op: 'domain_alloc_sva'; dev: number; mm: number; domain: number }
  | { op: 'set_dev_pasid'; domain: number; dev: number; pasid: number; ret: Errno | 0 }
  | { op: 'blocked'; dev: number; pasid: number; old: number | undefined }
  | { op: 'free'; domain: number }
  | { op: 'release'; domain: number; mm: number }
  | { op: 'invalidate'; domain: number; mm: number; start: bigint; end: bigint }
  | { op: 'free_notifier'; domain: number };

export interface MockConfig {
  /** set_dev_pasid of these device ids fails with the errno. */
  failSetDevPasid?: Map<number, Errno>;
  /** domain_alloc_sva fails with this errno. */
  failDomainAlloc?: Errno;
  /** A domain belongs to the IOMMU instance it was allocated on (SMMUv3-like): -EINVAL elsewhere. */
  perInstance?: boolean;
  /** The blocked domain has no set_dev_pasid: PASID attach is -EOPNOTSUPP. */
  noPasid?: boolean;
  /** Called inside arch_invalidate_secondary_tlbs, before it returns. */
  onInvalidate?: (mm: MmStruct, start: bigint, end: bigint) => void;
  /** Called at every recorded driver call, while the driver is in it. */
  onEvent?: (e: MockEvent) => void;
}

interface MockDomain {
  readonly iommu: number;
  readonly notifier: MmuNotifier;
  readonly attached: Device[];
  pasid: number | undefined;
  memFreed: boolean;
}

const mockOf = (d: IommuDomain): MockDomain => d.container as MockDomain;

export class MockDriver implements IommuDriver {
  readonly log: MockEvent[] = [];
  readonly units: MockUnit[] = [];
  readonly domains: IommuDomain[] = [];
  private kernel: Kernel | undefined;
  readonly ops: IommuOps;
  private readonly domainOps: IommuDomainOps;
  private readonly mnOps: MmuNotifierOps;

  constructor(readonly platform: Platform = 'vtd', readonly config: MockConfig = {}) {
    const self = this;
    this.mnOps = {
      *release(sub: MmuNotifier, mm: MmStruct): Co {
        const domain = sub.container as IommuDomain;
        self.record({ op: 'release', domain: domain.id, mm: mm.slot });
        const md = mockOf(domain);
        for (const d of md.attached) {
          const e = self.unitOf(d).entries.get(`${d.hw.sid}:${md.pasid}`);
          if (e) e.released = true;
        }
      },
      *arch_invalidate_secondary_tlbs(sub: MmuNotifier, mm: MmStruct, start: bigint, end: bigint): Co {
        self.record({ op: 'invalidate', domain: (sub.container as IommuDomain).id, mm: mm.slot, start, end });
        self.config.onInvalidate?.(mm, start, end);
      },
      *free_notifier(sub: MmuNotifier): Co {
        const domain = sub.container as IommuDomain;
        self.record({ op: 'free_notifier', domain: domain.id });
        mockOf(domain).memFreed = true;
      },
    };
    this.domainOps = {
      *set_dev_pasid(domain, dev, pasid, _old): Co<Errno | 0> {
        const md = mockOf(domain);
        let ret: Errno | 0 = self.config.failSetDevPasid?.get(dev.id) ?? 0;
        if (ret === 0 && self.config.perInstance && md.iommu !== dev.iommu.index) ret = 'EINVAL';
        self.record({ op: 'set_dev_pasid', domain: domain.id, dev: dev.id, pasid, ret });
        if (ret !== 0) return ret;
        self.unitOf(dev).entries.set(`${dev.hw.sid}:${pasid}`, { pgd: domain.mm!.pgd.pgd, levels: domain.mm!.pgd.levels, released: false });
        md.attached.push(dev);
        md.pasid = pasid;
        return 0;
      },
      *free(domain): Co {
        self.record({ op: 'free', domain: domain.id });
        yield* mmu_notifier_put(mockOf(domain).notifier);
      },
    };
    const blockedOps = {
      *free(): Co {},
      ...(config.noPasid ? {} : {
        *set_dev_pasid(_blocked: IommuDomain, dev: Device, pasid: number, old: IommuDomain | undefined): Co<Errno | 0> {
          self.record({ op: 'blocked', dev: dev.id, pasid, old: old?.id });
          self.unitOf(dev).entries.delete(`${dev.hw.sid}:${pasid}`);
          if (old !== undefined) {
            const md = mockOf(old);
            const i = md.attached.indexOf(dev);
            if (i >= 0) md.attached.splice(i, 1);
          }
          return 0;
        },
      }),
    } as IommuDomainOps; // without set_dev_pasid when noPasid: a NULL member in C
    const ops: IommuOps = {
      name: 'mock',
      *domain_alloc_sva(dev: Device, mm: MmStruct): Co<Result<IommuDomain>> {
        if (self.config.failDomainAlloc) return err(self.config.failDomainAlloc);
        // The driver's kzalloc, under the name of the site it stands for (intel_svm_domain_alloc's).
        if (mm.kernel.shouldFail('kzalloc@intel_svm_domain_alloc')) return err('ENOMEM');
        const kernel = self.kernel!;
        const container: { md?: MockDomain } = {};
        const domain: IommuDomain = {
          id: kernel.nextId('domain'), type: 'SVA', ops: self.domainOps, owner: ops, mm: undefined, users: 0,
          container: undefined, freed: false,
        };
        const notifier: MmuNotifier = { ops: self.mnOps, mm, container: domain, users: 0, hooked: false, freed: false };
        const md: MockDomain = { iommu: dev.iommu.index, notifier, attached: [], pasid: undefined, memFreed: false };
        container.md = md;
        domain.container = md;
        const ret = sync(mm.kernel, mmu_notifier_register(notifier, mm));
        if (ret !== 0) return err(ret);
        self.domains.push(domain);
        self.record({ op: 'domain_alloc_sva', dev: dev.id, mm: mm.slot, domain: domain.id });
        return ok(domain);
      },
      blocked_domain: {
        id: -1, type: 'BLOCKED', ops: blockedOps, owner: undefined as unknown as IommuOps, mm: undefined, users: 0, container: undefined, freed: false,
      },
    };
    this.ops = ops;
  }

  record(e: MockEvent): void {
    this.log.push(e);
    this.config.onEvent?.(e);
  }

  unitOf(dev: Device): MockUnit {
    return this.units[dev.iommu.index]!;
  }

  probeIommu(ctx: ProbeContext, index: number): IommuDevice {
    this.kernel = ctx;
    const spec = ctx.topology.iommus[index]!;
    const unit = new MockUnit(`mock${index}`, ctx.mem);
    this.units.push(unit);
    return { index, ops: this.ops, max_pasids: 2 ** spec.pasidBits, unit, kernel: ctx };
  }

  probeDevice(_ctx: ProbeContext, dev: Device): void {
    dev.priv = { probed: true };
  }

  /** PASID entries that no live domain has attached. */
  leakCheck(): string[] {
    const owned = new Set<string>();
    for (const d of this.domains) {
      if (d.freed) continue;
      const md = mockOf(d);
      for (const dev of md.attached) owned.add(`${dev.iommu.index}/${dev.hw.sid}:${md.pasid}`);
    }
    const out: string[] = [];
    for (const [i, u] of this.units.entries()) {
      for (const k of u.entries.keys()) if (!owned.has(`${i}/${k}`)) out.push(`${u.name}: PASID entry ${k} remains`);
    }
    return out;
  }

  /** The events of one kind, for assertions. */
  events<K extends MockEvent['op']>(op: K): Extract<MockEvent, { op: K }>[] {
    return this.log.filter((e): e is Extract<MockEvent, { op: K }> => e.op === op);
  }
}
