/** Shared, frozen observations so the hot path allocates only when it returns a value. */
import type { Errno, Observation, SpecFaultReason } from '../shared/index.js';

export const OK_OBS: Observation = Object.freeze({ ok: true });

const errnoObs = {} as Record<Errno, Observation>;
for (const e of ['ENODEV', 'EINVAL', 'ENOMEM', 'ENOSPC', 'EBUSY', 'EOVERFLOW', 'EOPNOTSUPP', 'EFAULT'] as const) {
  errnoObs[e] = Object.freeze({ ok: false, errno: e });
}
export const fail = (e: Errno): Observation => errnoObs[e];

/** A DMA fault with the spec's reason, from a closed set: sameObservation compares its kind (faultKind.ts). */
export const dmaFault = (fault: SpecFaultReason): Observation => ({ ok: false, errno: 'EFAULT', fault });
