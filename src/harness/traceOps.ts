/**
 * Driver entry points in the timeline, on every platform, without touching a driver: when a
 * session records events, the harness wraps the ops tables through which the core calls the
 * driver (src/impl/core/ops.ts: iommu_ops, iommu_domain_ops, mmu_notifier_ops) so that each
 * call emits a `driver` event named after the ported function (its kernel name). The wrapping
 * is per world: the driver's frozen tables are never changed; the world's own objects (its
 * iommu_device, each SVA domain, each notifier) are pointed at traced copies, and the static
 * blocked domain is reached through a per-world stand-in that shares everything but `ops`.
 * Identity checks of the core (domain->owner == ops, domain == ops->blocked_domain) keep
 * holding because every reference the core reads goes through the same traced table.
 */
import type { Yield } from '../impl/core/sched.js';
import type { Device, IommuDomain, IommuDriver, IommuOps, MmStruct, MmuNotifier } from '../impl/index.js';
import { ERRNOS } from '../shared/index.js';
import type { TraceSink } from '../shared/index.js';

type Table = Record<string, unknown>;
type Fn = (...args: unknown[]) => unknown;

const isErrno = (v: unknown): v is string => typeof v === 'string' && (ERRNOS as readonly string[]).includes(v);

const hasKeys = (v: unknown, ...keys: string[]): v is Table =>
  typeof v === 'object' && v !== null && keys.every((k) => k in v);

/** An argument as a kernel developer reads it in a call line. */
const formatArg = (v: unknown): string => {
  if (v === undefined) return 'NULL';
  if (typeof v === 'bigint') return v === 0xffffffffffffffffn ? 'ULONG_MAX' : `0x${v.toString(16)}`;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (hasKeys(v, 'hw', 'iommu', 'group')) return `dev${String(v.id)}`;
  if (hasKeys(v, 'type', 'ops', 'owner')) return v.type === 'BLOCKED' ? 'blocked_domain' : `domain${String(v.id)}`;
  if (hasKeys(v, 'notifiers', 'slot')) return `mm${String(v.slot)}`;
  if (hasKeys(v, 'ops', 'mm', 'hooked')) return `notifier(mm${String((v.mm as MmStruct).slot)})`;
  if (hasKeys(v, 'prm')) {
    const prm = v.prm as Table;
    return `fault(pasid ${String(prm.pasid)}, grpid ${String(prm.grpid)})`;
  }
  if (hasKeys(v, 'code', 'grpid')) return `response ${String(v.code)}`;
  if (hasKeys(v, 'index', 'unit')) return `iommu${String(v.index)}`;
  return typeof v;
};

/** A result worth a line: an errno, a failed Result, a successful allocation. */
const formatResult = (r: unknown): string | undefined => {
  if (isErrno(r)) return `-${r}`;
  if (hasKeys(r, 'ok')) {
    if (r.ok === false) return `-${String(r.errno)}`;
    return formatArg(r.value);
  }
  return undefined;
};

/** Installs the traced tables of one world and remembers them (original → traced). */
class OpsTracer {
  private readonly traced = new Map<object, object>();
  private readonly mine = new Set<object>();
  private readonly blocked = new Map<object, IommuDomain>();

  constructor(private readonly sink: TraceSink, private readonly actor: string) {}

  /** The struct a table is, from the members it has: for anonymous members' names. */
  private static kind(ops: object): string {
    if ('domain_alloc_sva' in ops) return 'iommu_ops';
    if ('set_dev_pasid' in ops || 'free' in ops) return 'iommu_domain_ops';
    return 'mmu_notifier_ops';
  }

  /** A traced copy of an ops table: every function member emits its call and its errno. */
  table<T extends object>(ops: T, onReturn?: (member: string, r: unknown, args: unknown[]) => void): T {
    if (this.mine.has(ops)) return ops;
    const known = this.traced.get(ops);
    if (known !== undefined) return known as T;
    const out: Table = {};
    for (const key of Object.keys(ops)) {
      const desc = Object.getOwnPropertyDescriptor(ops, key)!;
      if (desc.get !== undefined) {
        Object.defineProperty(out, key, { enumerable: true, get: () => this.value(desc.get!.call(ops)) });
        continue;
      }
      const member = desc.value as unknown;
      if (typeof member !== 'function') {
        out[key] = this.value(member);
        continue;
      }
      const fn = member as Fn;
      // The ported function's own name is the kernel's; an anonymous member shows its slot.
      const name = fn.name !== '' && fn.name !== key ? fn.name : `${OpsTracer.kind(ops)}->${key}`;
      const done = (r: unknown, args: unknown[]): void => {
        const shown = formatResult(r);
        if (shown !== undefined) this.sink.event('driver', this.actor, `${name} → ${shown}`);
        onReturn?.(key, r, args);
      };
      const sink = this.sink;
      const actor = this.actor;
      // Ops are generators (src/impl/core/ops.ts): the call event goes out when the body starts
      // and the return event when it ends, however many yield points lie between.
      out[key] = function* (...args: unknown[]): Generator<Yield, unknown, undefined> {
        sink.event('driver', actor, `${name}(${args.map(formatArg).join(', ')})`);
        const r: unknown = yield* (fn.apply(ops, args) as Generator<Yield, unknown, undefined>);
        done(r, args);
        return r;
      };
    }
    Object.freeze(out);
    this.traced.set(ops, out);
    this.mine.add(out);
    return out as T;
  }

  /** A static domain inside an ops table (the blocked domain): one stand-in per world. */
  private value(v: unknown): unknown {
    if (!hasKeys(v, 'type', 'ops', 'owner')) return v;
    const real = v as unknown as IommuDomain;
    let stand = this.blocked.get(real);
    if (stand === undefined) {
      stand = Object.create(real, { ops: { value: this.table(real.ops), enumerable: true } }) as IommuDomain;
      this.blocked.set(real, stand);
    }
    return stand;
  }

  /** Point a freshly allocated SVA or paging domain at traced tables (the mm's new notifiers: adoptNotifiers). */
  adopt(domain: IommuDomain, owner: IommuOps, tracedOwner: IommuOps): void {
    const d = domain as { ops: IommuDomain['ops']; owner: IommuOps };
    d.ops = this.table(domain.ops);
    if (domain.owner === owner) d.owner = tracedOwner;
  }

  adoptNotifiers(mm: MmStruct): void {
    for (const sub of mm.notifiers) (sub as { ops: MmuNotifier['ops'] }).ops = this.table(sub.ops);
  }
}

/** The platform's driver with its ops tables traced into `sink` for every world it probes. */
export const tracingDriver = (driver: IommuDriver, sink: TraceSink): IommuDriver => {
  const tracers = new Map<IommuOps, { tracer: OpsTracer; ops: IommuOps }>();
  const traced = (ops: IommuOps): IommuOps => {
    let t = tracers.get(ops);
    if (t === undefined) {
      const tracer = new OpsTracer(sink, ops.name);
      const box: { ops: IommuOps | undefined } = { ops: undefined };
      const tracedOps = tracer.table(ops, (member, r, args) => {
        // Paging domains (iommufd) as SVA ones: the core's domain->owner == ops check must
        // see the traced table, or every PASID attach of a traced session is -EINVAL.
        if ((member !== 'domain_alloc_sva' && member !== 'domain_alloc_paging_flags' && member !== 'domain_alloc_nested') || !hasKeys(r, 'ok') || r.ok !== true) return;
        tracer.adopt(r.value as IommuDomain, ops, box.ops!);
        if (member === 'domain_alloc_sva') tracer.adoptNotifiers(args[1] as MmStruct);
      });
      box.ops = tracedOps;
      t = { tracer, ops: tracedOps };
      tracers.set(ops, t);
    }
    return t.ops;
  };
  const out: IommuDriver = {
    ...driver,
    probeIommu: (ctx, index) => {
      const iommu = driver.probeIommu(ctx, index);
      (iommu as { ops: IommuOps }).ops = traced(iommu.ops);
      return iommu;
    },
    probeDevice: (ctx, dev: Device) => driver.probeDevice(ctx, dev),
  };
  return Object.freeze(out);
};
