import { seedThreadTopology } from '../../src/shared/index.js';
import { newTrace, type Trace } from '../../src/trace/index.js';

/** A small hand-made counterexample: a stale ATC entry read after unbind. */
export const sampleTrace = (): Trace => ({
  // Fixed, so the expected renderings do not change with package.json's version.
  ...newTrace({
    topology: seedThreadTopology(),
    seed: 42,
    path: '7:1:0',
    commands: [
      { kind: 'mmap', mm: 0, first: 0, count: 2, prot: 'rw' },
      { kind: 'bind', dev: 0, mm: 0 },
      { kind: 'touch', mm: 0, page: 1, write: true },
      { kind: 'dma', dev: 0, mm: 0, page: 1, write: false },
      { kind: 'unbind', dev: 0, mm: 0 },
      { kind: 'dma', dev: 0, mm: 0, page: 1, write: true },
    ],
    steps: [
      { expected: { ok: true }, actual: { ok: true } },
      {
        expected: { ok: true, value: 1 },
        actual: { ok: true, value: 1 },
        events: [
          { lane: 'core', actor: 'sva', text: 'iommu_alloc_mm_data pasid 1' },
          { lane: 'queue', actor: 'vtd0', text: 'pc_inv did 1 pasid 1' },
        ],
      },
      { expected: { ok: true }, actual: { ok: true } },
      { expected: { ok: true, value: 145 }, actual: { ok: true, value: 145 } },
      { expected: { ok: true }, actual: { ok: true }, events: [{ lane: 'driver', actor: 'intel-svm', text: 'remove_dev_pasid <skipped>' }] },
      { expected: { ok: false, errno: 'EFAULT' }, actual: { ok: true, value: 145 }, events: [{ lane: 'cache', actor: 'dev0', text: 'atc hit pasid 1; vpn 40001' }] },
    ],
    violation: {
      invariant: 'SVA001',
      title: 'no stale translation after unbind',
      step: 5,
      objects: { dev: 0, mm: 0, pasid: 1 },
      message: 'dev0 reached mm0.p1#1 through PASID 1 after unbind',
    },
  }),
  harnessVersion: '0.0.0-test',
});
