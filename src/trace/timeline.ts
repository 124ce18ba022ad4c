import { match } from 'ts-pattern';
import { formatToken, sameObservation } from '../shared/index.js';
import type { Command, Observation, TraceEvent } from '../shared/index.js';
import { messageLines, oneLine } from './checked.js';
import type { GroupEvent, Trace, TraceGroup, TraceStep, TraceViolation } from './trace.js';

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
    .with({ kind: 'dmaPasid' }, (c) => `dmaPasid(d${c.dev},pasid ${c.pasid},p${c.page},${c.write ? 'w' : 'r'})`)
    .with({ kind: 'stopMarker' }, (c) => `stopMarker(d${c.dev},mm${c.mm})`)
    .with({ kind: 'migrate' }, (c) => `migrate(mm${c.mm},p${c.page})`)
    .with({ kind: 'replacePasid' }, (c) => `replacePasid(d${c.dev},hwpt${c.from}→hwpt${c.hwpt})`)
    .with({ kind: 'guestMap' }, (c) => `guestMap(iova${c.page}→gpa${c.gpa},${c.write ? 'rw' : 'r'})`)
    .with({ kind: 'guestUnmap' }, (c) => `guestUnmap(iova${c.page})`)
    .with({ kind: 'destroyHwpt' }, (c) => `destroyHwpt(hwpt${c.hwpt})`)
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
    .with({ kind: 'dma' }, { kind: 'prefetch' }, { kind: 'dmaIova' }, { kind: 'dmaPasid' }, () => formatToken(v))
    .with({ kind: 'serviceFaults' }, () => `${v} answered success`)
    .with(
      { kind: 'unbind' }, { kind: 'mmap' }, { kind: 'munmap' }, { kind: 'touch' }, { kind: 'mprotect' },
      { kind: 'exit' }, { kind: 'mmdrop' }, { kind: 'spawn' }, { kind: 'gracePeriod' },
      { kind: 'vmalloc' }, { kind: 'vfree' }, { kind: 'failNext' }, { kind: 'prefetchKernel' }, { kind: 'unplug' },
      { kind: 'failNth' },
      { kind: 'prg' }, { kind: 'detachPasid' }, { kind: 'iommuMap' }, { kind: 'iommuUnmap' }, { kind: 'migrate' }, { kind: 'replacePasid' },
      { kind: 'stopMarker' },
      { kind: 'guestMap' }, { kind: 'guestUnmap' }, { kind: 'destroyHwpt' },
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
  const [first, ...rest] = messageLines(v.message);
  const head = `  ✗ VIOLATION ${oneLine(v.invariant)}${title} at step #${v.step}: ${first}${objects === '' ? '' : ` [${objects}]`}`;
  return [head, ...rest.map((l) => `      ${l}`)].join('\n');
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

/**
 * The lane name of each task of a group: a member is its CPU or device and its command
 * (`cpu0:bind(d0,mm1)`), a kernel task keeps the name the kernel gives it (kworker/u8:1,
 * irq/dmar0-prq). Without a recorded task list (events off), the members only.
 */
export const groupLaneNames = (trace: Trace, g: TraceGroup): string[] => {
  const member = (i: number, name: string): string => {
    const cmd = trace.commands[g.at + i];
    return cmd === undefined ? name : `${name}:${formatCommand(cmd)}`;
  };
  if (g.tasks === undefined) return Array.from({ length: g.size }, (_, i) => member(i, `task${i}`));
  return g.tasks.map((t, i) => (i < g.size ? member(i, t.name) : t.name));
};

const isGroupEvent = (e: TraceEvent | GroupEvent): e is GroupEvent => 'task' in e && 'at' in e;

/**
 * A group as lanes: the header (scheduler, seed, switches), one line per task, then every
 * event of every member in the order it ran, each under its task's lane, and a `⇄` line at
 * each context switch. Events are ordered by scheduling point and, within one point, as
 * emitted (a task runs alone between two points, so that order is the real one).
 */
export const groupLines = (trace: Trace, g: TraceGroup): string[] => {
  const names = groupLaneNames(trace, g);
  const d = g.depth === undefined ? '' : `, d=${g.depth}`;
  const lines = [`── group #${g.at}..#${g.at + g.size - 1}: ${g.size} tasks in parallel, ${g.scheduler} scheduler, seed ${g.seed}${d}, ` +
    `${g.switches.length} forced switch(es)${g.points === undefined ? '' : `, ${g.points.length} point(s)`}`];
  for (const [i, n] of names.entries()) {
    const t = g.tasks?.[i];
    const span = t === undefined ? '' : t.doneAt < 0 ? `, points ${t.firstAt}.. (never finished)` : `, points ${t.firstAt}..${t.doneAt}`;
    lines.push(`   lane ${i} ${n}${t === undefined ? '' : ` [${t.kind}]`}${span}`);
  }
  const events: GroupEvent[] = [];
  for (let k = 0; k < g.size; k++) for (const e of trace.steps[g.at + k]?.events ?? []) if (isGroupEvent(e)) events.push(e);
  // A stable sort: within one point the emission order stays.
  events.sort((a, b) => a.at - b.at);
  const width = Math.min(28, Math.max(...names.map((n) => n.length)));
  const lane = (task: number): string => (names[task] ?? `task${task}`).padEnd(width);
  let next = 0;
  for (const p of g.points ?? []) {
    if (p.switched) lines.push(`   ⇄ point ${p.at}: switch to ${names[p.task] ?? `task${p.task}`}`);
    for (; next < events.length && events[next]!.at <= p.at; next++) {
      const e = events[next]!;
      lines.push(`   ${lane(e.task)} │ ${e.lane.padEnd(6)} ${oneLine(e.actor)}: ${oneLine(e.text)}`);
    }
    lines.push(`   ${lane(p.task)} ┄ ${p.what === 'done' ? 'finishes' : `yields at ${oneLine(p.what)}`} (point ${p.at})`);
  }
  for (; next < events.length; next++) {
    const e = events[next]!;
    lines.push(`   ${lane(e.task)} │ ${e.lane.padEnd(6)} ${oneLine(e.actor)}: ${oneLine(e.text)}`);
  }
  lines.push(`── end of group #${g.at}..#${g.at + g.size - 1}`);
  return lines;
};

/**
 * The whole timeline, one element per line: header, then each step with its events. A group
 * shows its members' results first, then its lanes (groupLines) instead of per-step events.
 */
export const timelineLines = (trace: Trace): string[] => {
  const lines = formatHeader(trace);
  const v = trace.violation;
  const groupAt = new Map((trace.groups ?? []).map((g) => [g.at, g]));
  let inGroup: TraceGroup | undefined;
  for (const [i, cmd] of trace.commands.entries()) {
    const step = trace.steps[i];
    const g = groupAt.get(i);
    if (g !== undefined) inGroup = g;
    lines.push(formatStepLine(i, cmd, step));
    if (inGroup === undefined) for (const e of step?.events ?? []) lines.push(formatEvent(e));
    if (inGroup !== undefined && i === inGroup.at + inGroup.size - 1) {
      lines.push(...groupLines(trace, inGroup));
      inGroup = undefined;
    }
    if (v !== undefined && v.step === i) lines.push(formatViolation(v));
  }
  lines.push(v === undefined ? `${trace.commands.length} step(s), no violation` : `${trace.commands.length} step(s), violation ${oneLine(v.invariant)} at step #${v.step}`);
  return lines;
};

export const formatTimeline = (trace: Trace): string => `${timelineLines(trace).join('\n')}\n`;
