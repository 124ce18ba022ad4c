import { match } from 'ts-pattern';
import { IOVA_PAGES, MAX_HWPTS, type Command, type Topology } from '../shared/index.js';

/**
 * Ids checked against the trace's own topology: a trace from a larger topology, or a
 * hand-edited one, must be refused before replay indexes an array with it. Returns
 * `where: what` for the first id out of range, or undefined. The topology itself has
 * already passed `topologyError`.
 */
export const commandRangeError = (cmd: Command, t: Topology): string | undefined => {
  const dev = (v: number): Bound => ['dev', v, t.devices.length, 'device'];
  const mm = (v: number, field = 'mm'): Bound => [field, v, t.mms, 'mm slot'];
  const page = (v: number): Bound => ['page', v, t.pages, 'page'];
  const kpage = (v: number): Bound => ['kpage', v, t.kpages, 'kernel page'];
  const first = (v: number): Bound => ['first', v, t.pages, 'page'];
  const hwpt = (v: number): Bound => ['hwpt', v, MAX_HWPTS, 'hwpt'];
  const iova = (v: number): Bound => ['page', v, IOVA_PAGES, 'IOVA page'];
  const bounds: Bound[] = match(cmd)
    .with({ kind: 'bind' }, { kind: 'unbind' }, (c) => [dev(c.dev), mm(c.mm)])
    .with({ kind: 'dma' }, { kind: 'prefetch' }, (c) => [dev(c.dev), mm(c.mm), page(c.page)])
    .with({ kind: 'prefetchKernel' }, (c) => [dev(c.dev), mm(c.mm), kpage(c.kpage)])
    .with({ kind: 'unplug' }, (c) => [dev(c.dev)])
    .with({ kind: 'prg' }, (c) => [dev(c.dev), mm(c.mm), page(c.page), page(c.page + c.count - 1)])
    .with({ kind: 'touch' }, { kind: 'mprotect' }, { kind: 'migrate' }, (c) => [mm(c.mm), page(c.page)])
    .with({ kind: 'mmap' }, { kind: 'munmap' }, (c) => [mm(c.mm), first(c.first)])
    .with({ kind: 'exit' }, { kind: 'mmdrop' }, { kind: 'spawn' }, (c) => [mm(c.mm)])
    .with({ kind: 'fork' }, (c) => [mm(c.mm), mm(c.child, 'child')])
    .with({ kind: 'vmalloc' }, { kind: 'vfree' }, (c) => [kpage(c.kpage)])
    .with({ kind: 'attachPasid' }, { kind: 'detachPasid' }, (c) => [dev(c.dev), hwpt(c.hwpt)])
    .with({ kind: 'replacePasid' }, (c) => [dev(c.dev), hwpt(c.hwpt), hwpt(c.from)])
    .with({ kind: 'iommuMap' }, { kind: 'iommuUnmap' }, (c) => [hwpt(c.hwpt), iova(c.page)])
    .with({ kind: 'dmaIova' }, (c) => [dev(c.dev), hwpt(c.hwpt), iova(c.page)])
    .with({ kind: 'guestMap' }, (c) => [iova(c.page), iova(c.gpa)])
    .with({ kind: 'guestUnmap' }, (c) => [iova(c.page)])
    .with({ kind: 'destroyHwpt' }, (c) => [hwpt(c.hwpt)])
    // Any PASID number is a legal request (a device may tag with any; the spec says what it gets).
    .with({ kind: 'dmaPasid' }, (c) => [dev(c.dev), page(c.page)])
    .with({ kind: 'stopMarker' }, (c) => [dev(c.dev), mm(c.mm)])
    // The site is an enum: the schema has already refused an unknown one.
    .with({ kind: 'gracePeriod' }, { kind: 'failNext' }, { kind: 'serviceFaults' }, () => [])
    // n is checked by the schema (a positive integer); a call count beyond the command's calls fails nothing.
    .with({ kind: 'failNth' }, () => [])
    .exhaustive();
  for (const [field, v, limit, noun] of bounds) {
    if (v < 0 || v >= limit) {
      return limit === 0
        ? `${field}: ${noun} ${v}, but the topology has no ${noun}s`
        : `${field}: ${noun} ${v} out of range for this topology (0..${limit - 1})`;
    }
  }
  if (cmd.kind === 'mmap' || cmd.kind === 'munmap') {
    if (cmd.count < 1) return `count: ${cmd.count}, must be at least 1`;
    if (cmd.first + cmd.count > t.pages) {
      return `count: pages ${cmd.first}..${cmd.first + cmd.count - 1} run past the topology's ${t.pages} pages`;
    }
  }
  return undefined;
};

/** [field, value, exclusive limit, noun] */
type Bound = readonly [string, number, number, string];
