/**
 * Measures the forms the spec's lifecycle machines could run in, and the whole spec step.
 * Run: npx tsx scripts/bench-spec.ts
 * Wall-clock time is used only to report, never to decide anything the harness computes.
 */
import { createActor, initialTransition, transition } from 'xstate';
import { match } from 'ts-pattern';
import { defaultTopology, FAIL_SITES } from '../src/shared/index.js';
import type { Command, Topology } from '../src/shared/index.js';
import { bondMachine, bondTable, CoverageRecorder, initSpec, precondition, specStep } from '../src/spec/index.js';
import type { BondEvent } from '../src/spec/index.js';

const rate = (label: string, n: number, body: () => void): number => {
  body(); // warm-up pass of the same work
  const t0 = performance.now();
  body();
  const ms = performance.now() - t0;
  const perSec = (n / ms) * 1000;
  console.log(`${label.padEnd(48)} ${(perSec / 1e6).toFixed(2).padStart(8)} M/s  ${((ms * 1e3) / n).toFixed(3).padStart(8)} µs each`);
  return perSec;
};

// ---- 1. machine forms on the bond machine -------------------------------------------------
const cycle: BondEvent[] = [{ type: 'bind' }, { type: 'bind' }, { type: 'unbind' }, { type: 'exit' }, { type: 'unbind' }, { type: 'unbind' }];
const N = 600_000;
console.log('bond machine, one event per iteration:');
rate('xstate actor.send (reused actor)', N, () => {
  const actor = createActor(bondMachine).start();
  for (let i = 0; i < N; i++) actor.send(cycle[i % cycle.length]!);
  actor.stop();
});
rate('xstate pure transition()', N / 10, () => {
  let [snap] = initialTransition(bondMachine);
  for (let i = 0; i < N / 10; i++) [snap] = transition(bondMachine, snap, cycle[i % cycle.length]!);
});
rate('compiled table (kept)', N * 10, () => {
  const inst = bondTable.create();
  for (let i = 0; i < N * 10; i++) bondTable.send(inst, cycle[i % cycle.length]!, undefined);
});
rate('compiled table + coverage recorder', N * 10, () => {
  const cov = new CoverageRecorder();
  const inst = bondTable.create();
  for (let i = 0; i < N * 10; i++) bondTable.send(inst, cycle[i % cycle.length]!, cov);
});

// ---- 2. a deterministic legal command sequence ---------------------------------------------
/** Park–Miller LCG: deterministic and dependency-free. */
const lcg = (seed: number) => {
  let x = seed;
  return (n: number): number => {
    x = (x * 48271) % 2147483647;
    return x % n;
  };
};

const legalSequence = (t: Topology, length: number, seed: number): Command[] => {
  const r = lcg(seed);
  const s = initSpec(t);
  const out: Command[] = [];
  const dev = () => r(t.devices.length), mm = () => r(t.mms), page = () => r(t.pages);
  const kinds = ['bind', 'bind', 'unbind', 'unbind', 'mmap', 'touch', 'touch', 'munmap', 'mprotect', 'dma', 'dma', 'dma', 'dma',
    'prefetch', 'exit', 'mmdrop', 'fork', 'spawn', 'spawn', 'gracePeriod', 'vmalloc', 'vfree', 'failNext'] as const;
  while (out.length < length) {
    const k = kinds[r(kinds.length)]!;
    const cmd: Command = match(k)
      .with('bind', 'unbind', (kind) => ({ kind, dev: dev(), mm: mm() }))
      .with('mmap', (kind) => ({ kind, mm: mm(), first: page(), count: 1 + r(2), prot: r(2) === 0 ? 'r' as const : 'rw' as const }))
      .with('touch', (kind) => ({ kind, mm: mm(), page: page(), write: r(2) === 0 }))
      .with('munmap', (kind) => ({ kind, mm: mm(), first: page(), count: 1 }))
      .with('mprotect', (kind) => ({ kind, mm: mm(), page: page(), prot: (['none', 'r', 'rw'] as const)[r(3)]! }))
      .with('dma', (kind) => ({ kind, dev: dev(), mm: mm(), page: page(), write: r(2) === 0 }))
      .with('prefetch', (kind) => ({ kind, dev: dev(), mm: mm(), page: page() }))
      .with('exit', 'mmdrop', 'spawn', (kind) => ({ kind, mm: mm() }))
      .with('fork', (kind) => ({ kind, mm: mm(), child: mm() }))
      .with('gracePeriod', (kind) => ({ kind }))
      .with('vmalloc', 'vfree', (kind) => ({ kind, kpage: r(t.kpages) }))
      .with('failNext', (kind) => ({ kind, site: FAIL_SITES[r(FAIL_SITES.length)]! }))
      .exhaustive();
    if (!precondition(s, cmd)) continue;
    specStep(s, cmd);
    out.push(cmd);
  }
  return out;
};

// ---- 3. dispatch: ts-pattern vs switch --------------------------------------------------------
const seq = legalSequence(defaultTopology('smmuv3'), 200_000, 42);
const viaMatch = (c: Command): number =>
  match(c)
    .with({ kind: 'bind' }, () => 1).with({ kind: 'unbind' }, () => 2).with({ kind: 'mmap' }, () => 3)
    .with({ kind: 'touch' }, () => 4).with({ kind: 'munmap' }, () => 5).with({ kind: 'mprotect' }, () => 6)
    .with({ kind: 'dma' }, () => 7).with({ kind: 'exit' }, () => 8).with({ kind: 'mmdrop' }, () => 9)
    .with({ kind: 'fork' }, () => 10).with({ kind: 'spawn' }, () => 11).with({ kind: 'gracePeriod' }, () => 12)
    .with({ kind: 'prefetch' }, () => 13).with({ kind: 'vmalloc' }, () => 14).with({ kind: 'vfree' }, () => 15)
    .with({ kind: 'failNext' }, () => 16).with({ kind: 'serviceFaults' }, () => 17)
    .with({ kind: 'prefetchKernel' }, () => 18).with({ kind: 'unplug' }, () => 19).with({ kind: 'prg' }, () => 20)
    .with({ kind: 'attachPasid' }, () => 21).with({ kind: 'detachPasid' }, () => 22).with({ kind: 'iommuMap' }, () => 23)
    .with({ kind: 'iommuUnmap' }, () => 24).with({ kind: 'dmaIova' }, () => 25).with({ kind: 'migrate' }, () => 26).with({ kind: 'replacePasid' }, () => 27)
    .with({ kind: 'failNth' }, () => 28).with({ kind: 'dmaPasid' }, () => 29)
    .with({ kind: 'stopMarker' }, () => 30).with({ kind: 'guestMap' }, () => 31).with({ kind: 'guestUnmap' }, () => 32).with({ kind: 'destroyHwpt' }, () => 33).exhaustive();
const viaSwitch = (c: Command): number => {
  switch (c.kind) {
    case 'bind': return 1; case 'unbind': return 2; case 'mmap': return 3; case 'touch': return 4;
    case 'munmap': return 5; case 'mprotect': return 6; case 'dma': return 7; case 'exit': return 8;
    case 'mmdrop': return 9; case 'fork': return 10; case 'spawn': return 11; case 'gracePeriod': return 12;
    case 'prefetch': return 13; case 'vmalloc': return 14; case 'vfree': return 15; case 'failNext': return 16; case 'serviceFaults': return 17;
    case 'prefetchKernel': return 18; case 'unplug': return 19; case 'prg': return 20;
    case 'attachPasid': return 21; case 'detachPasid': return 22; case 'iommuMap': return 23;
    case 'iommuUnmap': return 24; case 'dmaIova': return 25; case 'migrate': return 26; case 'replacePasid': return 27;
    case 'failNth': return 28; case 'dmaPasid': return 29; case 'stopMarker': return 30; case 'guestMap': return 31; case 'guestUnmap': return 32; case 'destroyHwpt': return 33;
    default: { const never: never = c; return never; }
  }
};
let sink = 0;
console.log('\ndispatch on Command.kind:');
rate('ts-pattern match(...).with x16.exhaustive()', seq.length, () => { for (const c of seq) sink += viaMatch(c); });
rate('switch with never default (kept)', seq.length, () => { for (const c of seq) sink += viaSwitch(c); });

// ---- 4. the whole spec step ----------------------------------------------------------------------
console.log('\nspec step over 200k legal commands (both platforms):');
for (const platform of ['vtd', 'smmuv3'] as const) {
  const t = defaultTopology(platform);
  const cmds = legalSequence(t, 200_000, 7);
  rate(`${platform}: specStep`, cmds.length, () => {
    const s = initSpec(t);
    for (const c of cmds) specStep(s, c);
  });
  rate(`${platform}: precondition + specStep`, cmds.length, () => {
    const s = initSpec(t);
    for (const c of cmds) if (precondition(s, c)) specStep(s, c);
  });
  rate(`${platform}: precondition + specStep + coverage`, cmds.length, () => {
    const s = initSpec(t, new CoverageRecorder());
    for (const c of cmds) if (precondition(s, c)) specStep(s, c);
  });
}
if (sink === 42) console.log(''); // keep the dispatch loops from being optimised away
