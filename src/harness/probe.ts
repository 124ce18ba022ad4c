/**
 * The hardware probe a session attaches to its world (properties/probe.ts: attachProbe hooks
 * every unit's submit/sync observer and the core's invalidation observer).
 */
import { type StepProbe, attachProbe } from '../../properties/probe.js';
import type { World } from '../impl/index.js';

export const attachStepProbe = (world: World): StepProbe => attachProbe(world);
