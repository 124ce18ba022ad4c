import { describe, expect, test } from 'vitest';
import { kernelLog } from '../../../properties/lifecycle/kernelLog.js';
import { warn } from '../../../src/impl/index.js';
import { PLATFORMS, bind, busy, check, exit, expectFires, expectHolds, grace, mmdrop, unbind } from '../helpers.js';

describe.each(PLATFORMS)('I-SPLAT kernel log on %s', (platform) => {
  test('holds through binds, exit while bound, unbinds and the grace period', () => {
    const p = busy(platform).run(exit(0), unbind(0, 0), unbind(0, 0), unbind(2, 0), unbind(3, 0), mmdrop(0), grace, bind(0, 1));
    expectHolds(kernelLog, p);
  });

  test('fires with the splat\'s text once the kernel WARNs', () => {
    const p = busy(platform);
    warn(p.world.kernel, 'WARN_ON(domain->users == 0)');
    expectFires(kernelLog, p, /kernel splat: WARN_ON\(domain->users == 0\)/);
    expect(check(kernelLog, p)).toHaveLength(1);
  });
});
