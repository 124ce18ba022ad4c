/**
 * A structural diff of two plain JSON values, for "the state diff at the failing step": one
 * line per changed leaf, `mm1.pasid: 3 → undefined`, in a deterministic order (object keys in
 * natural order, so mm2 comes before mm10; array elements by index).
 */
export const diffJson = (before: unknown, after: unknown, limit = 200): string[] => {
  const out: string[] = [];
  walk(before, after, '', out);
  if (out.length <= limit) return out;
  return [...out.slice(0, limit), `… ${out.length - limit} more change(s)`];
};

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

const walk = (a: unknown, b: unknown, path: string, out: string[]): void => {
  if (isObject(a) && isObject(b)) {
    const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort(naturalCompare);
    for (const k of keys) walk(a[k], b[k], joinKey(path, k), out);
    return;
  }
  if (Array.isArray(a) && Array.isArray(b)) {
    for (let i = 0; i < Math.max(a.length, b.length); i++) walk(a[i], b[i], `${path}[${i}]`, out);
    return;
  }
  if (a === b || (Number.isNaN(a) && Number.isNaN(b))) return;
  out.push(`${path === '' ? '(root)' : path}: ${formatJsonValue(a)} → ${formatJsonValue(b)}`);
};

const joinKey = (path: string, key: string): string => {
  const part = /^[A-Za-z_$][\w$]*$/.test(key) ? key : JSON.stringify(key);
  if (path === '') return part;
  return part.startsWith('"') ? `${path}[${part}]` : `${path}.${part}`;
};

/** Compact one-line rendering of a value, bounded so one big object cannot flood the diff. */
export const formatJsonValue = (v: unknown): string => {
  if (v === undefined) return 'undefined';
  if (typeof v === 'bigint') return `${v}n`;
  let s: string;
  try {
    s = JSON.stringify(v, (_k, x: unknown) => (typeof x === 'bigint' ? `${x}n` : x)) ?? String(v);
  } catch {
    s = String(v);
  }
  return s.length > 80 ? `${s.slice(0, 77)}...` : s;
};

/** Code-unit order, except that runs of digits compare as numbers: mm2 < mm10. No locale. */
export const naturalCompare = (a: string, b: string): number => {
  const ra = a.match(/\d+|\D+/g) ?? [];
  const rb = b.match(/\d+|\D+/g) ?? [];
  for (let i = 0; i < Math.min(ra.length, rb.length); i++) {
    const x = ra[i]!;
    const y = rb[i]!;
    if (x === y) continue;
    if (/^\d/.test(x) && /^\d/.test(y)) {
      const d = Number(x) - Number(y);
      if (d !== 0) return d;
    }
    return x < y ? -1 : 1;
  }
  return ra.length - rb.length || (a < b ? -1 : a > b ? 1 : 0);
};
