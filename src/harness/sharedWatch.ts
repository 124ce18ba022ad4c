/**
 * The step watch over shared memory (watch.ts): the search thread writes, as each command
 * starts, a heartbeat and the command itself into a SharedArrayBuffer; the supervising thread
 * reads them without the search's cooperation. A step that never returns therefore still
 * leaves the seed, the topology and every command of its run readable, and the supervisor can
 * write the trace of the commands so far. Fixed-size integer records: no allocation, no JSON
 * per step (the topology is written once per run).
 */
import { COMMAND_KINDS, FAIL_SITES } from '../shared/index.js';
import type { Command, CommandKind, Topology } from '../shared/index.js';
import type { Switch } from '../sched/types.js';
import type { TraceGroup } from '../trace/index.js';
import type { Session } from './session.js';
import type { StepWatch } from './watch.js';

/** Header words. */
const STOP = 0;
const BEATS = 1;
const IN_STEP = 2;
const COUNT = 3;
const SEED = 4;
const TOPO_LEN = 5;
const OVERFLOW = 6;
/** The index of the first command of the step in progress: a concurrent group's first member. */
const STEP_AT = 7;
/** Concurrent groups recorded, switches in the pool, and whether either ran out of room. */
const GROUP_COUNT = 8;
const SWITCH_COUNT = 9;
const GROUP_OVERFLOW = 10;
const HEADER = 11;

const TOPO_BYTES = 8192;
/** Longer than any generated run (400 commands plus the starting spawns, shrinking included). */
export const WATCH_MAX_COMMANDS = 4096;

/** One command: its kind and every field a command may have, -1 where it has none. */
const FIELDS = ['dev', 'mm', 'page', 'first', 'count', 'child', 'kpage', 'n', 'hwpt', 'pasid', 'from', 'gpa'] as const;
const WRITE = 1 + FIELDS.length;
const PROT = WRITE + 1;
const SITE = PROT + 1;
const RID = SITE + 1;
const LAST = RID + 1;
const CMD_INTS = LAST + 1;
const PROTS = ['none', 'r', 'rw'] as const;

/**
 * One group: at, size, scheduler, seed, depth (-1: none), and its switches' first index and
 * count in the switch pool. A group's switches are appended as its scheduler forces them, so the
 * group in progress when a step hangs has those it made so far (replay forces the same).
 */
const GROUP_INTS = 7;
const MAX_GROUPS = WATCH_MAX_COMMANDS / 2;
/** (at, to) pairs for every group of a run: a random schedule switches at about one point in two. */
const SWITCH_POOL = 1 << 15;
const SCHEDULERS = ['random', 'pct', 'exhaustive', 'replay'] as const;

const TOPO_OFFSET = HEADER * 4;
const CMDS_OFFSET = TOPO_OFFSET + TOPO_BYTES;
const GROUPS_OFFSET = CMDS_OFFSET + WATCH_MAX_COMMANDS * CMD_INTS * 4;
const SWITCHES_OFFSET = GROUPS_OFFSET + MAX_GROUPS * GROUP_INTS * 4;
const BYTES = SWITCHES_OFFSET + SWITCH_POOL * 2 * 4;

const KIND_INDEX = new Map(COMMAND_KINDS.map((k, i) => [k, i]));

/** Per kind, the fields its commands have and their slots, from the schema's field lists. */
const SLOT_OF: Readonly<Record<string, number>> = {
  ...Object.fromEntries(FIELDS.map((f, i) => [f, 1 + i])), write: WRITE, prot: PROT, site: SITE, rid: RID, last: LAST,
};
const KIND_FIELDS: Readonly<Record<CommandKind, readonly string[]>> = {
  bind: ['dev', 'mm'], unbind: ['dev', 'mm'], mmap: ['mm', 'first', 'count', 'prot'], touch: ['mm', 'page', 'write'],
  munmap: ['mm', 'first', 'count'], mprotect: ['mm', 'page', 'prot'], dma: ['dev', 'mm', 'page', 'write'], exit: ['mm'],
  mmdrop: ['mm'], fork: ['mm', 'child'], spawn: ['mm'], gracePeriod: [], prefetch: ['dev', 'mm', 'page'],
  prefetchKernel: ['dev', 'mm', 'kpage'], unplug: ['dev'], vmalloc: ['kpage'], vfree: ['kpage'], failNext: ['site'], serviceFaults: [], failNth: ['n'],
  prg: ['dev', 'mm', 'page', 'count', 'write', 'rid', 'last'],
  attachPasid: ['dev', 'hwpt', 'pasid'], replacePasid: ['dev', 'hwpt', 'from'], detachPasid: ['dev', 'hwpt'],
  iommuMap: ['hwpt', 'page', 'write'], iommuUnmap: ['hwpt', 'page'], dmaIova: ['dev', 'hwpt', 'page', 'write'], migrate: ['mm', 'page'],
  dmaPasid: ['dev', 'pasid', 'page', 'write'], stopMarker: ['dev', 'mm'], guestMap: ['page', 'gpa', 'write'], guestUnmap: ['page'], destroyHwpt: ['hwpt'],
};
const KIND_SLOTS: readonly (readonly (readonly [string, number])[])[] =
  COMMAND_KINDS.map((k) => KIND_FIELDS[k].map((f) => [f, SLOT_OF[f]!] as const));

export const newWatchBuffer = (): SharedArrayBuffer => new SharedArrayBuffer(BYTES);

/** The search thread's side. */
export class SharedStepWatch implements StepWatch {
  private readonly header: Int32Array;
  private readonly cmds: Int32Array;
  private readonly topo: Buffer;
  private readonly groups: Int32Array;
  private readonly switches: Int32Array;
  private session: Session | undefined;

  constructor(buffer: SharedArrayBuffer) {
    this.header = new Int32Array(buffer, 0, HEADER);
    this.topo = Buffer.from(buffer, TOPO_OFFSET, TOPO_BYTES);
    this.cmds = new Int32Array(buffer, CMDS_OFFSET, WATCH_MAX_COMMANDS * CMD_INTS);
    this.groups = new Int32Array(buffer, GROUPS_OFFSET, MAX_GROUPS * GROUP_INTS);
    this.switches = new Int32Array(buffer, SWITCHES_OFFSET, SWITCH_POOL * 2);
  }

  /** The supervisor asked the search to stop (between chunks). */
  stopRequested(): boolean {
    return Atomics.load(this.header, STOP) !== 0;
  }

  chunk(seed: number): void {
    this.header[SEED] = seed;
  }

  enter(s: Session, _cmd: Command): void {
    const h = this.header;
    let from = h[COUNT]!;
    if (s !== this.session) {
      this.session = s;
      const text = JSON.stringify(s.topology);
      const n = this.topo.write(text, 0, 'utf8');
      h[TOPO_LEN] = n === Buffer.byteLength(text) ? n : -1;
      h[OVERFLOW] = 0;
      h[GROUP_COUNT] = 0;
      h[SWITCH_COUNT] = 0;
      h[GROUP_OVERFLOW] = 0;
      from = 0;
    }
    // Every command since the last step: a concurrent group enters once, with all its members.
    const count = s.commands.length;
    for (let i = Math.min(from, count - 1); i < count; i++) this.write(i, s.commands[i]!);
    h[STEP_AT] = Math.min(from, count - 1);
    h[COUNT] = count;
    h[IN_STEP] = 1;
    h[BEATS] = (h[BEATS]! + 1) | 0;
  }

  group(g: Pick<TraceGroup, 'at' | 'size' | 'scheduler' | 'seed' | 'depth'>): void {
    const h = this.header;
    const i = h[GROUP_COUNT]!;
    if (i >= MAX_GROUPS) {
      h[GROUP_OVERFLOW] = 1;
      return;
    }
    const at = i * GROUP_INTS;
    const r = this.groups;
    r[at] = g.at;
    r[at + 1] = g.size;
    r[at + 2] = SCHEDULERS.indexOf(g.scheduler);
    r[at + 3] = g.seed;
    r[at + 4] = g.depth ?? -1;
    r[at + 5] = h[SWITCH_COUNT]!;
    r[at + 6] = 0;
    h[GROUP_COUNT] = i + 1;
  }

  groupSwitch(sw: Switch): void {
    const h = this.header;
    const n = h[SWITCH_COUNT]!;
    if (n >= SWITCH_POOL || h[GROUP_COUNT] === 0) {
      h[GROUP_OVERFLOW] = 1;
      return;
    }
    this.switches[2 * n] = sw.at;
    this.switches[2 * n + 1] = sw.to;
    h[SWITCH_COUNT] = n + 1;
    this.groups[(h[GROUP_COUNT]! - 1) * GROUP_INTS + 6]! += 1;
  }

  private write(i: number, cmd: Command): void {
    if (i >= WATCH_MAX_COMMANDS) {
      this.header[OVERFLOW] = 1;
      return;
    }
    const c = this.cmds;
    const at = i * CMD_INTS;
    const any = cmd as unknown as Record<string, unknown>;
    c.fill(-1, at, at + CMD_INTS);
    const kind = KIND_INDEX.get(cmd.kind)!;
    c[at] = kind;
    // Only the fields this kind has: the step pays for two or three reads, not ten.
    const slots = KIND_SLOTS[kind]!;
    for (let f = 0; f < slots.length; f++) {
      const [name, slot] = slots[f]!;
      const v = any[name];
      c[at + slot] = slot === WRITE || slot === RID || slot === LAST ? (v === true ? 1 : 0)
        : slot === PROT ? PROTS.indexOf(v as (typeof PROTS)[number])
        : slot === SITE ? FAIL_SITES.indexOf(v as (typeof FAIL_SITES)[number])
        : (v as number);
    }
  }

  leave(): void {
    this.header[IN_STEP] = 0;
  }
}

/** What the supervisor reads: the heartbeat, and on a hang the run so far. */
export class WatchReader {
  private readonly header: Int32Array;
  private readonly cmds: Int32Array;
  private readonly topo: Buffer;
  private readonly groups: Int32Array;
  private readonly switches: Int32Array;

  constructor(buffer: SharedArrayBuffer) {
    this.header = new Int32Array(buffer, 0, HEADER);
    this.topo = Buffer.from(buffer, TOPO_OFFSET, TOPO_BYTES);
    this.cmds = new Int32Array(buffer, CMDS_OFFSET, WATCH_MAX_COMMANDS * CMD_INTS);
    this.groups = new Int32Array(buffer, GROUPS_OFFSET, MAX_GROUPS * GROUP_INTS);
    this.switches = new Int32Array(buffer, SWITCHES_OFFSET, SWITCH_POOL * 2);
  }

  requestStop(): void {
    Atomics.store(this.header, STOP, 1);
  }

  /** Changes whenever a step starts. */
  beats(): number {
    return Atomics.load(this.header, BEATS);
  }

  inStep(): boolean {
    return Atomics.load(this.header, IN_STEP) !== 0;
  }

  /**
   * The current run: its chunk's seed, topology and commands, the last ones (from `stepAt`) being
   * the step in progress, a command or a concurrent group's members, and its concurrent groups
   * (the one in progress with the switches forced so far; undefined when they did not fit);
   * undefined when the run is not fully recorded (a topology or a run too large).
   */
  run(): { readonly seed: number; readonly topology: Topology; readonly commands: Command[]; readonly stepAt: number; readonly groups: TraceGroup[] | undefined } | undefined {
    const h = this.header;
    const len = h[TOPO_LEN]!;
    const count = h[COUNT]!;
    if (len <= 0 || h[OVERFLOW] !== 0 || count === 0) return undefined;
    const topology = JSON.parse(this.topo.toString('utf8', 0, len)) as Topology;
    const commands: Command[] = [];
    for (let i = 0; i < count; i++) commands.push(this.command(i));
    return { seed: h[SEED]!, topology, commands, stepAt: h[STEP_AT]!, groups: h[GROUP_OVERFLOW] !== 0 ? undefined : this.readGroups() };
  }

  private readGroups(): TraceGroup[] {
    const out: TraceGroup[] = [];
    const r = this.groups;
    for (let i = 0; i < this.header[GROUP_COUNT]!; i++) {
      const at = i * GROUP_INTS;
      const first = r[at + 5]!;
      const switches: Switch[] = [];
      for (let k = first; k < first + r[at + 6]!; k++) switches.push({ at: this.switches[2 * k]!, to: this.switches[2 * k + 1]! });
      out.push({
        at: r[at]!, size: r[at + 1]!, scheduler: SCHEDULERS[r[at + 2]!]!, seed: r[at + 3]!,
        ...(r[at + 4]! >= 0 ? { depth: r[at + 4]! } : {}), switches,
      });
    }
    return out;
  }

  private command(i: number): Command {
    const c = this.cmds;
    const at = i * CMD_INTS;
    const out: Record<string, unknown> = { kind: COMMAND_KINDS[c[at]!] };
    for (let f = 0; f < FIELDS.length; f++) if (c[at + 1 + f]! >= 0) out[FIELDS[f]!] = c[at + 1 + f];
    if (c[at + WRITE]! >= 0) out['write'] = c[at + WRITE] === 1;
    if (c[at + PROT]! >= 0) out['prot'] = PROTS[c[at + PROT]!];
    if (c[at + SITE]! >= 0) out['site'] = FAIL_SITES[c[at + SITE]!];
    if (c[at + RID]! >= 0) out['rid'] = c[at + RID] === 1;
    if (c[at + LAST]! >= 0) out['last'] = c[at + LAST] === 1;
    return out as unknown as Command;
  }
}
