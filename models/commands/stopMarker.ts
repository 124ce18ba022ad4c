/**
 * stopMarker(dev, mm): a VT-d PRI device stops using the mm's PASID with a PCIe Stop Marker (its
 * outstanding requests there turn stale; the marker goes into the PRQ, is dropped by the
 * driver and never answered). Legal while the pair has a bond and no group of it is open.
 */
import fc from 'fast-check';
import type { Topology } from '../../src/shared/index.js';
import { prgDevices } from '../../src/harness/enabled.js';
import { mmId } from '../ids.js';
import { SvaCommand } from '../model.js';

export const stopMarkerCommand = (t: Topology): fc.Arbitrary<SvaCommand> =>
  fc.tuple(fc.constantFrom(...prgDevices(t)), mmId(t)).map(([dev, mm]) => new SvaCommand({ kind: 'stopMarker', dev, mm }));
