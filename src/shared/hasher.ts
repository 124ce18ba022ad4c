/**
 * A 64-bit structural hash of a value's whole object graph, walked in a fixed order: own keys
 * in creation order, arrays and typed arrays by index, Maps and Sets in insertion order, shared
 * objects by their first-visit number so aliasing is part of the hash. Functions are not state.
 * The state fingerprints of explore (src/explore/fingerprint.ts) and the linearization search's
 * memo of spec runs (src/harness/group.ts) are made with it.
 */
/**
 * Keys that are not state: the topology and the driver (fixed for the run), the trace sink
 * and the coverage recorder (attached by the harness). No state field has these names.
 */
const SKIP: ReadonlySet<string> = new Set(['topology', 'driver', 'trace', 'coverage']);

const TAG_UNDEF = 1, TAG_NULL = 2, TAG_FALSE = 3, TAG_TRUE = 4, TAG_INT = 5, TAG_FLOAT = 6, TAG_STR = 7,
  TAG_BIG = 8, TAG_REF = 9, TAG_ARR = 10, TAG_VIEW = 11, TAG_MAP = 12, TAG_SET = 13, TAG_OBJ = 14, TAG_FN = 15;

const f64 = new Float64Array(1);
const u32 = new Uint32Array(f64.buffer);

/**
 * Property names hashed once: an object's keys are a handful of names seen millions of times.
 * A SKIP name's word is NaN, so one lookup per key says both.
 */
const keyWords = new Map<string, number>();
const keyWord = (k: string): number => {
  let w = keyWords.get(k);
  if (w === undefined) {
    // FNV-1a over the name; names are short and few, so a 32-bit word per name is enough.
    w = 0x811c9dc5;
    for (let i = 0; i < k.length; i++) w = Math.imul(w ^ k.charCodeAt(i), 0x01000193);
    if (SKIP.has(k)) w = NaN;
    keyWords.set(k, w);
  }
  return w;
};

/** Two independent 32-bit multiply-rotate lanes (murmur3-style mixing): 64 bits in all. */
export class Hasher {
  private a = 0x811c9dc5;
  private b = 0x9747b28c;
  /** First-visit numbers; one map for every fingerprint (cleared), so no Map per state. */
  private static readonly seenMap = new Map<object, number>();
  private readonly seen = Hasher.seenMap;

  private readonly opaque: ((o: object) => boolean) | undefined;
  private readonly shared: boolean;

  /**
   * `opaque`: objects that are not state (statistics), hashed as a tag. `acyclic`: the value
   * has no cycles and no object whose identity matters beside its contents (a state built
   * from fresh copies), so a shared object is hashed by its contents, with no visit map.
   */
  constructor(opts: { readonly opaque?: (o: object) => boolean; readonly acyclic?: boolean } = {}) {
    this.opaque = opts.opaque;
    this.shared = opts.acyclic !== true;
    if (this.shared) this.seen.clear();
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
    if (this.shared) {
      const ref = this.seen.get(o);
      if (ref !== undefined) {
        this.word(TAG_REF);
        return this.word(ref);
      }
      this.seen.set(o, this.seen.size);
    }
    // Plain objects first: most of a state is made of them.
    const proto = Object.getPrototypeOf(o) as unknown;
    if (proto === Object.prototype) this.fields(o as Record<string, unknown>);
    else if (Array.isArray(o)) {
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
    } else if (this.opaque !== undefined && this.opaque(o)) {
      this.word(TAG_FN);
    } else {
      this.fields(o as Record<string, unknown>);
    }
  }

  private fields(rec: Record<string, unknown>): void {
    this.word(TAG_OBJ);
    const keys = Object.keys(rec);
    for (let i = 0; i < keys.length; i++) {
      const k = keys[i]!;
      const w = keyWord(k);
      if (w !== w) continue;
      this.word(w);
      this.value(rec[k]);
    }
  }

  /** 16 hex digits; drops the visit map's references so the world can be collected. */
  digest(): string {
    this.seen.clear();
    return (this.a >>> 0).toString(16).padStart(8, '0') + (this.b >>> 0).toString(16).padStart(8, '0');
  }
}

