/**
 * The platform half of the lifecycle invariants, chosen once per world (the match runs on the
 * first check of a world, not per step: ts-pattern's builder allocates on every call).
 */
import { match } from 'ts-pattern';
import type { World } from '../../../src/impl/index.js';
import { PerWorld } from '../perWorld.js';
import { amdLifecycle } from './amd.js';
import { smmuv3Lifecycle } from './smmuv3.js';
import type { LifecyclePlatform } from './types.js';
import { vtdLifecycle } from './vtd.js';

export type { LifecyclePlatform } from './types.js';

const chosen = new PerWorld<LifecyclePlatform>((world) =>
  match(world.topology)
    .with({ platform: 'vtd' }, () => vtdLifecycle)
    .with({ platform: 'smmuv3' }, () => smmuv3Lifecycle)
    .with({ platform: 'amd' }, () => amdLifecycle)
    .exhaustive());

export function platformOf(world: World): LifecyclePlatform {
  return chosen.get(world);
}
