/**
 * State fingerprints: a 64-bit hash of everything a later step can depend on, so that two
 * command sequences reaching the same state are expanded once.
 *
 * What is hashed: the spec state (its topology and coverage excepted) and the whole object
 * graph of the world (kernel objects, physical memory with every page-table entry, the
 * emulated IOMMUs' tables, caches and queues, the devices' ATCs, the core's globals), walked
 * in a fixed order: own keys in creation order, arrays and typed arrays by index, Maps and
 * Sets in insertion order (the kernel's lists and xarrays iterate in an order that matters),
 * shared objects by their first-visit number so aliasing is part of the state. Functions
 * (ops tables, observers) are not state. Per-kernel state kept in module WeakMaps, outside the
 * graph, is added explicitly: the IOPF queues and fault parameters, lockdep's learned
 * dependencies, and each driver's own (src/harness/platforms.ts DRIVER_HIDDEN_STATE). The IOPF
 * success counter is left out: only its difference across one serviceFaults is observed; so
 * are the units' event Counters (statistics: the cost invariants read their differences
 * across one step, nothing in the impl or the hardware reads them).
 *
 * Nothing is abstracted away (frame numbers, PASID values, content-token generations stay),
 * so equal fingerprints mean equal states up to a 2^-64 collision; states that differ only
 * in such names stay distinct, which costs exploration time, never soundness.
 */
import type { Session } from '../harness/index.js';
import { DRIVER_HIDDEN_STATE } from '../harness/platforms.js';
import { dev_fault_param, iopf_queues } from '../impl/core/iopf.js';
import { lockdep_state } from '../impl/core/locking.js';
import { Counters } from '../hw/counters.js';
import { Hasher } from '../shared/hasher.js';

/** The units' event counters are statistics, not state. */
const isCounters = (o: object): boolean => o instanceof Counters;

/** The fingerprint of a session's current state (spec and world). */
export const fingerprint = (s: Session): string => {
  const h = new Hasher({ opaque: isCounters });
  // The spec's derived topology facts (t) are fixed for the run.
  const { t: _t, ...spec } = s.spec;
  h.value(spec);
  h.value(s.world);
  const kernel = s.world.kernel;
  h.value(iopf_queues(kernel));
  for (const dev of s.world.devices) h.value(dev_fault_param(dev));
  // Lockdep's learned dependencies are made on first use: a record that holds nothing is no
  // record (a serviceFaults or gracePeriod that took no nested lock leaves the state as it
  // found it). Held locks are no state here: every command has released its locks by the end.
  const deps = lockdep_state(kernel);
  h.value(deps === undefined || deps.size === 0 ? undefined : deps);
  const hidden = DRIVER_HIDDEN_STATE[s.topology.platform];
  h.value(hidden === undefined ? undefined : hidden(kernel));
  return h.digest();
};
