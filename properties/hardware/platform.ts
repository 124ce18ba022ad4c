/**
 * Shared plumbing of the hardware invariants: the per-platform dispatch (an exhaustive match on
 * the topology's platform, done once per world and cached, since check() runs after every
 * step), and the violation list that stays unallocated while a rule holds.
 */
import { match } from 'ts-pattern';
import type { World } from '../../src/impl/index.js';
import type { CheckContext, Violation } from '../invariant.js';

/** The result of a check that found nothing: shared, never written. */
export const NONE: readonly Violation[] = Object.freeze([]);

/** A platform's half of an invariant: appends what it finds to `out` (created on first use). */
export type PlatformCheck = (ctx: CheckContext, out: Sink) => void;

/** Collects violations of one invariant; allocates only when the first one arrives. */
export class Sink {
  list: Violation[] | undefined;

  constructor(readonly invariant: string) {}

  add(objects: Readonly<Record<string, number>>, message: string): void {
    (this.list ??= []).push({ invariant: this.invariant, objects, message });
  }
}

/** Build check(ctx) from one function per platform; the choice is made once per world. */
export function perPlatform(id: string, checks: { readonly vtd: PlatformCheck; readonly smmuv3: PlatformCheck; readonly amd: PlatformCheck }): (ctx: CheckContext) => readonly Violation[] {
  // The choice for the world checked last: runs check one world at a time, so a pointer compare
  // replaces the per-step WeakMap lookup (measured: ~2% of a checked step over 12 invariants).
  let lastWorld: World | undefined;
  let chosen: PlatformCheck = checks.vtd;
  // One sink per invariant, rewound each call: check() is synchronous and never re-entered.
  const sink = new Sink(id);
  return (ctx) => {
    if (ctx.world !== lastWorld) {
      chosen = match(ctx.world.topology.platform)
        .with('vtd', () => checks.vtd)
        .with('smmuv3', () => checks.smmuv3)
        .with('amd', () => checks.amd)
        .exhaustive();
      lastWorld = ctx.world;
    }
    sink.list = undefined;
    chosen(ctx, sink);
    return sink.list ?? NONE;
  };
}
