/**
 * The platform half of the lifecycle invariants, chosen once per world (the match runs on the
 * first check of a world, not per step: ts-pattern's builder allocates on every call).
 */
import { match } from 'ts-pattern';
import type { World } from '../../../src/impl/index.js';
import { smmuv3Lifecycle } from './smmuv3.js';
import type { LifecyclePlatform } from './types.js';
import { vtdLifecycle } from './vtd.js';

export type { LifecyclePlatform } from './types.js';

const chosen = new WeakMap<World, LifecyclePlatform>();

export function platformOf(world: World): LifecyclePlatform {
  let p = chosen.get(world);
  if (p === undefined) {
    p = match(world.topology)
      .with({ platform: 'vtd' }, () => vtdLifecycle)
      .with({ platform: 'smmuv3' }, () => smmuv3Lifecycle)
      .exhaustive();
    chosen.set(world, p);
  }
  return p;
}
