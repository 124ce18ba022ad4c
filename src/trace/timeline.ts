import { match } from 'ts-pattern';
import { formatToken, sameObservation } from '../shared/index.js';
import type { Command, Observation, TraceEvent } from '../shared/index.js';
import { oneLine } from './checked.js';
import type { Trace, TraceStep, TraceViolation } from './trace.js';

/** A replayable call, as fast-check's `Command.toString()` prints it: `dma(d2,mm0,p3,w)`. */
export const formatCommand = (cmd: Command): string =>
  match(cmd)
    .with({ kind: 'bind' }, { kind: 'unbind' }, (c) => `${c.kind}(d${c.dev},mm${c.mm})`)
    .with({ kind: 'mmap' }, (c) => `mmap(mm${c.mm},${pageRange(c.first, c.count)},${c.prot})`)
    .with({ kind: 'munmap' }, (c) => `munmap(mm${c.mm},${pageRange(c.first, c.count)})`)
    .with({ kind: 'touch' }, (c) => `touch(mm${c.mm},p${c.page},${c.write ? 'w' : 'r'})`)
    .with({ kind: 'mprotect' }, (c) => `mprotect(mm${c.mm},p${c.page},${c.prot})`)
    .with({ kind: 'dma' }, (c) => `dma(d${c.dev},mm${c.mm},p${c.page},${c.write ? 'w' : 'r'})`)
    .with({ kind: 'prefetch' }, (c) => `prefetch(d${c.dev},mm${c.mm},p${c.page})`)
    .with({ kind: 'prg' }, (c) => `prg(d${c.dev},${c.rid ? 'rid' : `mm${c.mm}`},${pageRange(c.page, c.count)},${c.write ? 'w' : 'r'}${c.last ? '' : ',open'})`)
    .with({ kind: 'prefetchKernel' }, (c) => `prefetchKernel(d${c.dev},mm${c.mm},k${c.kpage})`)
    .with({ kind: 'unplug' }, (c) => `unplug(d${c.dev})`)
    .with({ kind: 'exit' }, { kind: 'mmdrop' }, { kind: 'spawn' }, (c) => `${c.kind}(mm${c.mm})`)
    .with({ kind: 'fork' }, (c) => `fork(mm${c.mm},mm${c.child})`)
    .with({ kind: 'gracePeriod' }, () => 'gracePeriod()')
    .with({ kind: 'serviceFaults' }, () => 'serviceFaults()')
    .with({ kind: 'vmalloc' }, { kind: 'vfree' }, (c) => `${c.kind}(k${c.kpage})`)
    .with({ kind: 'failNext' }, (c) => `failNext(${c.site})`)
    .with({ kind: 'failNth' }, (c) => `failNth(${c.n})`)
    .with({ kind: 'attachPasid' }, (c) => `attachPasid(d${c.dev},hwpt${c.hwpt},pasid ${c.pasid})`)
    .with({ kind: 'detachPasid' }, (c) => `detachPasid(d${c.dev},hwpt${c.hwpt})`)
    .with({ kind: 'iommuMap' }, (c) => `iommuMap(hwpt${c.hwpt},iova${c.page},${c.write ? 'rw' : 'r'})`)
    .with({ kind: 'iommuUnmap' }, (c) => `iommuUnmap(hwpt${c.hwpt},iova${c.page})`)
    .with({ kind: 'dmaIova' }, (c) => `dmaIova(d${c.dev},hwpt${c.hwpt},iova${c.page},${c.write ? 'w' : 'r'})`)
    .with({ kind: 'migrate' }, (c) => `migrate(mm${c.mm},p${c.page})`)
    .with({ kind: 'replacePasid' }, (c) => `replacePasid(d${c.dev},hwpt${c.from}→hwpt${c.hwpt})`)
    .exhaustive();

const pageRange = (first: number, count: number): string =>
  count === 1 ? `p${first}` : `p${first}..p${first + count - 1}`;

/** An observation in the command's terms: a PASID for bind, a slot for fork, a token for DMA. */
export const formatObservation = (cmd: Command, obs: Observation): string => {
  if (!obs.ok) return obs.fault === undefined ? obs.errno : `${obs.errno} (${oneLine(obs.fault)})`;
  const v = obs.value;
  if (v === undefined) return 'ok';
  return match(cmd)
    .with({ kind: 'bind' }, { kind: 'attachPasid' }, () => `pasid ${v}`)
    .with({ kind: 'fork' }, () => `mm${v}`)
    .with({ kind: 'dma' }, { kind: 'prefetch' }, { kind: 'dmaIova' }, () => formatToken(v))
    .with({ kind: 'serviceFaults' }, () => `${v} answered success`)
    .with(
      { kind: 'unbind' }, { kind: 'mmap' }, { kind: 'munmap' }, { kind: 'touch' }, { kind: 'mprotect' },
      { kind: 'exit' }, { kind: 'mmdrop' }, { kind: 'spawn' }, { kind: 'gracePeriod' },
      { kind: 'vmalloc' }, { kind: 'vfree' }, { kind: 'failNext' }, { kind: 'prefetchKernel' }, { kind: 'unplug' },
      { kind: 'failNth' },
      { kind: 'prg' }, { kind: 'detachPasid' }, { kind: 'iommuMap' }, { kind: 'iommuUnmap' }, { kind: 'migrate' }, { kind: 'replacePasid' },
      () => `ok ${v}`,
    )
    .exhaustive();
};

/** `#12 unbind(d1,mm0) → ok | expected ok`, marked when actual and expected differ. */
export const formatStepLine = (index: number, cmd: Command, step: TraceStep | undefined): string => {
  const call = `#${index} ${formatCommand(cmd)}`;
  if (step === undefined) return `${call} (not run)`;
  const line = `${call} → ${formatObservation(cmd, step.actual)} | expected ${formatObservation(cmd, step.expected)}`;
  return sameObservation(step.expected, step.actual) ? line : `${line}  ✗ MISMATCH`;
};

/** One event under its step: lane column, then who did what. */
export const formatEvent = (e: TraceEvent): string => `    ${e.lane.padEnd(6)} ${oneLine(e.actor)}: ${oneLine(e.text)}`;

export const formatViolation = (v: TraceViolation): string => {
  // Sorted, as the serialiser stores them: a trace prints the same from memory and from disk.
  const objects = Object.entries(v.objects).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([k, n]) => `${k}=${n}`).join(' ');
  const title = v.title === '' ? '' : ` (${oneLine(v.title)})`;
  return `  ✗ VIOLATION ${oneLine(v.invariant)}${title} at step #${v.step}: ${oneLine(v.message)}${objects === '' ? '' : ` [${objects}]`}`;
};

/**
 * What the trace is: version, seed, fault, topology. fast-check's `path`/`replayPath` stay in
 * the file for fast-check; a reader replays from the commands, so they are not printed.
 */
export const formatHeader = (trace: Trace): string[] => {
  const t = trace.topology;
  const lines = [
    `trace format ${trace.formatVersion} · sva-harness ${oneLine(trace.harnessVersion)} · seed ${trace.seed}`,
    `topology: ${t.platform}, ${t.iommus.length} IOMMU(s), ${t.devices.length} device(s), ${t.mms} mm slot(s), ` +
      `${t.pages} page(s), ${t.kpages} kernel page(s), ${t.ptLevels}-level page tables`,
  ];
  if (trace.fault !== undefined) lines.push(`fault: ${oneLine(trace.fault)}`);
  return lines;
};

/** The whole timeline, one element per line: header, then each step with its events. */
export const timelineLines = (trace: Trace): string[] => {
  const lines = formatHeader(trace);
  const v = trace.violation;
  for (const [i, cmd] of trace.commands.entries()) {
    const step = trace.steps[i];
    lines.push(formatStepLine(i, cmd, step));
    for (const e of step?.events ?? []) lines.push(formatEvent(e));
    if (v !== undefined && v.step === i) lines.push(formatViolation(v));
  }
  lines.push(v === undefined ? `${trace.commands.length} step(s), no violation` : `${trace.commands.length} step(s), violation ${oneLine(v.invariant)} at step #${v.step}`);
  return lines;
};

export const formatTimeline = (trace: Trace): string => `${timelineLines(trace).join('\n')}\n`;
