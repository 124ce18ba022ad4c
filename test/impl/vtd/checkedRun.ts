import { expect } from 'vitest';
import { checkedStep, openSession } from '../../../src/harness/index.js';
import { defaultTopology, type Command, type Platform } from '../../../src/shared/index.js';
import type { VtdUnit } from '../../../src/hw/vtd/unit.js';
import { formatDesc, type QiDesc } from '../../../src/hw/vtd/descriptor.js';

/**
 * Every checked step clean (spec, invariants) on the platform's default topology: the session,
 * the observations and, on VT-d, the descriptors each step submitted to unit 0.
 */
export const checkedRun = (cmds: readonly Command[], platform: Platform = 'vtd') => {
  const s = openSession(defaultTopology(platform));
  const descs: string[][] = [];
  const obs = cmds.map((c) => {
    const unit = s.world.iommus[0]!.unit as VtdUnit;
    const sent: string[] = [];
    // Beside the probe's observer (the invariants read the same descriptors), for this step only.
    const probe = unit.observer;
    if (platform === 'vtd') {
      unit.observer = {
        onSubmit: (u, d: QiDesc) => {
          sent.push(formatDesc(d));
          probe?.onSubmit?.(u, d);
        },
        ...(probe?.onWait === undefined ? {} : { onWait: probe.onWait.bind(probe) }),
      };
    }
    expect(checkedStep(s, c)).toEqual([]);
    if (platform === 'vtd') unit.observer = probe;
    descs.push(sent);
    return s.steps[s.steps.length - 1]?.actual;
  });
  return { s, obs, descs };
};
