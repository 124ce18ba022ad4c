/**
 * Per-unit event counters: every descriptor/command kind submitted, every wait/sync, cache hits
 * and misses. Plain string keys so each unit names its own events (`qi.piotlb`, `cmdq.CMD_SYNC`,
 * `iotlb.hit`); the cost invariants read them as deltas around a step.
 */
export class Counters {
  private readonly counts = new Map<string, number>();

  bump(event: string, by = 1): void {
    this.counts.set(event, (this.counts.get(event) ?? 0) + by);
  }

  get(event: string): number {
    return this.counts.get(event) ?? 0;
  }

  /** A snapshot, sorted by event name so that printing it is deterministic. */
  snapshot(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const k of [...this.counts.keys()].sort()) out[k] = this.counts.get(k)!;
    return out;
  }
}
