/**
 * Small readers shared by the lifecycle invariants: violations without allocation on the happy
 * path, the SVA domain behind a pasid_array entry, and the highest PASID the world has used
 * (the bound for scanning hardware tables, which are far larger than the PASIDs in play).
 */
import type { Device, IommuDomain, IommuSva, PasidArrayEntry, World } from '../../src/impl/index.js';
import type { Violation } from '../invariant.js';
import { PerWorld } from './perWorld.js';

/** Returned when an invariant holds: shared and frozen so the hot path allocates nothing. */
export const NO_VIOLATIONS: readonly Violation[] = Object.freeze([]);

/**
 * Collects violations for one invariant; allocates only on the first one. Each invariant keeps
 * one instance and calls `begin` at the start of its check (checks never nest).
 */
export class Findings {
  private out: Violation[] | undefined;
  constructor(private readonly invariant: string) {}

  begin(): this {
    this.out = undefined;
    return this;
  }

  add(objects: Readonly<Record<string, number>>, message: string): void {
    (this.out ??= []).push({ invariant: this.invariant, objects, message });
  }

  done(): readonly Violation[] {
    const out = this.out ?? NO_VIOLATIONS;
    this.out = undefined;
    return out;
  }
}

/** The attach handle of a pasid_array entry, if it is one. */
export const handleOf = (e: PasidArrayEntry): IommuSva | undefined => (e.kind === 'handle' ? e.handle : undefined);

/** The domain a pasid_array entry attaches (through its handle or directly). */
export const domainOf = (e: PasidArrayEntry): IommuDomain | undefined =>
  e.kind === 'handle' ? e.handle.domain : e.kind === 'domain' ? e.domain : undefined;

/** Whether dev's group attaches `domain` at pasid. */
export function attachedTo(dev: Device, pasid: number, domain: IommuDomain): boolean {
  const e = dev.group.pasid_array.get(pasid);
  return e !== undefined && domainOf(e) === domain;
}

/** Attachments of `domain`: pasid_array handle entries, over every group, that point at it. */
export function attachmentsOf(world: World, domain: IommuDomain): number {
  let n = 0;
  for (const g of world.groups) for (const e of g.pasid_array.values()) if (e.kind === 'handle' && e.handle.domain === domain) n++;
  return n;
}

const watermarks = new PerWorld<{ max: number }>(() => ({ max: 0 }));

/**
 * The highest PASID ever allocated or attached in this world, as seen by the checks so far.
 * PASIDs come from ida_alloc_range (smallest free id), so a correct kernel writes hardware
 * entries only at or below it; scanning [1, watermark] finds stray entries at freed PASIDs.
 */
export function pasidWatermark(world: World): number {
  const w = watermarks.get(world);
  for (const p of world.core.pasidIda) if (p > w.max) w.max = p;
  for (const g of world.groups) if (g.pasid_array.size > 0) for (const p of g.pasid_array.keys()) if (p > w.max) w.max = p;
  return w.max;
}
