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

/**
 * Keys that are not state: the topology and the driver (fixed for the run), the trace sink
 * and the coverage recorder (attached by the harness). No state field has these names.
 */
const SKIP: ReadonlySet<string> = new Set(['topology', 'driver', 'trace', 'coverage']);

const TAG_UNDEF = 1, TAG_NULL = 2, TAG_FALSE = 3, TAG_TRUE = 4, TAG_INT = 5, TAG_FLOAT = 6, TAG_STR = 7,
  TAG_BIG = 8, TAG_REF = 9, TAG_ARR = 10, TAG_VIEW = 11, TAG_MAP = 12, TAG_SET = 13, TAG_OBJ = 14, TAG_FN = 15;

const f64 = new Float64Array(1);
const u32 = new Uint32Array(f64.buffer);

/** Property names hashed once: an object's keys are a handful of names seen millions of times. */
const keyWords = new Map<string, number>();
const keyWord = (k: string): number => {
  let w = keyWords.get(k);
  if (w === undefined) {
    // FNV-1a over the name; names are short and few, so a 32-bit word per name is enough.
    w = 0x811c9dc5;
    for (let i = 0; i < k.length; i++) w = Math.imul(w ^ k.charCodeAt(i), 0x01000193);
    keyWords.set(k, w);
  }
  return w;
};

/** Two independent 32-bit multiply-rotate lanes (murmur3-style mixing): 64 bits in all. */
class Hasher {
  private a = 0x811c9dc5;
  private b = 0x9747b28c;
  /** First-visit numbers; one map for every fingerprint (cleared), so no Map per state. */
  private static readonly seenMap = new Map<object, number>();
  private readonly seen = Hasher.seenMap;

  constructor() {
    this.seen.clear();
  }

  word(x: number): void {
    let k = Math.imul(x | 0, 0xcc9e2d51);
    k = (k << 15) | (k >>> 17);
    k = Math.imul(k, 0x1b873593);
    this.a ^= k;
    this.a = Math.imul((this.a << 13) | (this.a >>> 19), 5) + 0xe6546b64 | 0;
    let m = Math.imul(x | 0, 0x85ebca6b) ^ 0x5bd1e995;
    m = (m << 13) | (m >>> 19);
    this.b = Math.imul(this.b ^ m, 0xc2b2ae35) + 0x27d4eb2f | 0;
  }

  str(s: string): void {
    this.word(TAG_STR);
    this.word(s.length);
    for (let i = 0; i < s.length; i++) this.word(s.charCodeAt(i));
  }

  value(v: unknown): void {
    switch (typeof v) {
      case 'undefined':
        return this.word(TAG_UNDEF);
      case 'boolean':
        return this.word(v ? TAG_TRUE : TAG_FALSE);
      case 'number':
        if ((v | 0) === v) {
          this.word(TAG_INT);
          return this.word(v);
        }
        f64[0] = v;
        this.word(TAG_FLOAT);
        this.word(u32[0]!);
        return this.word(u32[1]!);
      case 'string':
        return this.str(v);
      case 'bigint':
        this.word(TAG_BIG);
        return this.str(v.toString(16));
      case 'function':
        return this.word(TAG_FN);
      case 'symbol':
        return this.str(v.toString());
      case 'object':
        return v === null ? this.word(TAG_NULL) : this.object(v);
    }
  }

  private object(o: object): void {
    const ref = this.seen.get(o);
    if (ref !== undefined) {
      this.word(TAG_REF);
      return this.word(ref);
    }
    this.seen.set(o, this.seen.size);
    if (Array.isArray(o)) {
      this.word(TAG_ARR);
      this.word(o.length);
      for (let i = 0; i < o.length; i++) this.value(o[i]);
    } else if (ArrayBuffer.isView(o)) {
      // Integer typed arrays (page tables, spec bytes): mostly zero, so only the non-zero
      // entries with their index, then the length.
      const view = o as unknown as ArrayLike<number>;
      this.word(TAG_VIEW);
      for (let i = 0; i < view.length; i++) {
        const x = view[i]!;
        if (x !== 0) {
          this.word(i);
          this.word(x);
        }
      }
      this.word(view.length);
    } else if (o instanceof Map) {
      this.word(TAG_MAP);
      this.word(o.size);
      for (const [k, v] of o) {
        this.value(k);
        this.value(v);
      }
    } else if (o instanceof Set) {
      this.word(TAG_SET);
      this.word(o.size);
      for (const v of o) this.value(v);
    } else if (o instanceof Counters) {
      this.word(TAG_FN);
    } else {
      this.word(TAG_OBJ);
      const rec = o as Record<string, unknown>;
      for (const k in rec) {
        if (!Object.hasOwn(rec, k) || SKIP.has(k)) continue;
        this.word(keyWord(k));
        this.value(rec[k]);
      }
    }
  }

  /** 16 hex digits; drops the visit map's references so the world can be collected. */
  digest(): string {
    this.seen.clear();
    return (this.a >>> 0).toString(16).padStart(8, '0') + (this.b >>> 0).toString(16).padStart(8, '0');
  }
}

/** The fingerprint of a session's current state (spec and world). */
export const fingerprint = (s: Session): string => {
  const h = new Hasher();
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
