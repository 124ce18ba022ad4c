import { describe, expect, test } from 'vitest';
import { exploreGroup } from '../../src/harness/index.js';
import { PLATFORMS, defaultTopology } from '../../src/shared/index.js';
import type { Command } from '../../src/shared/index.js';

/**
 * A device access during a page migration (spec/migrate.ts): between try_to_migrate_one's
 * migration entry and remove_migration_ptes the IOMMU's walk finds no present PTE, so the
 * access faults. Every schedule with one preemption is explained once migrate linearizes at two
 * points (a run with groups found {migrate, dma} not linearizable with one).
 */
const prefix: Command[] = [
  { kind: 'spawn', mm: 0 }, { kind: 'mmap', mm: 0, first: 0, count: 1, prot: 'r' }, { kind: 'bind', dev: 0, mm: 0 },
  { kind: 'touch', mm: 0, page: 0, write: false },
];
const group: Command[] = [{ kind: 'migrate', mm: 0, page: 0 }, { kind: 'dma', dev: 0, mm: 0, page: 0, write: false }];

describe('{migrate, dma} in a group', () => {
  test.each(PLATFORMS)('%s: every schedule with one preemption is linearizable, the access inside the window included', (platform) => {
    const r = exploreGroup(defaultTopology(platform), prefix, group, 1, 2_000);
    expect(r).toMatchObject({ complete: true, found: undefined, invariant: undefined });
    expect(r.schedules).toBeGreaterThan(2);
  });
});
