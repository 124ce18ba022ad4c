/**
 * Per-world state of an invariant (scratch arrays, a watermark, the platform half), found in
 * one pointer compare on the hot path. Checks run one world at a time, so the world checked
 * last is remembered next to its value; the WeakMap behind it is consulted only when another
 * world comes along (tests interleave worlds; state must survive that). Measured: a dozen
 * WeakMap lookups per step were ~4% of a checked step.
 */
import type { World } from '../../src/impl/index.js';

export class PerWorld<T> {
  private readonly all = new WeakMap<World, T>();
  private lastWorld: World | undefined;
  private lastValue: T | undefined;

  constructor(private readonly init: (world: World) => T) {}

  get(world: World): T {
    if (world === this.lastWorld) return this.lastValue!;
    let v = this.all.get(world);
    if (v === undefined) this.all.set(world, (v = this.init(world)));
    this.lastWorld = world;
    this.lastValue = v;
    return v;
  }
}
