/**
 * C's unsigned long shifts as the arm64 kernel executes them, for the places where the driver
 * can shift by 64 or more (__ffs(0) is 64 there). In C that is undefined behaviour; on arm64
 * GCC emits LSLV/LSRV, which use the shift amount modulo 64, and a CONFIG_UBSAN_SHIFT kernel
 * first reports it: lib/ubsan.c: __ubsan_handle_shift_out_of_bounds (v6.17), the report that
 * found B12 ("UBSan caught a bug ... exponent value ... >= 64", 12f78021973a).
 */
import { warn } from '../core/kernel.js';
import type { Kernel } from '../core/types.js';

const U64 = (1n << 64n) - 1n;

/** The kernel's __ffs on arm64 (__builtin_ctzl: RBIT + CLZ), so __ffs(0) = 64. */
export const __ffs = (x: bigint): number => {
  x &= U64;
  if (x === 0n) return 64;
  let n = 0;
  while ((x & 1n) === 0n) {
    x >>= 1n;
    n++;
  }
  return n;
};

/** fls_long: 1 + the index of the highest set bit, 0 for 0. */
export const fls_long = (x: bigint): number => (x === 0n ? 0 : x.toString(2).length);

/** Sites already reported, per kernel: UBSAN reports each source location once (was_reported). */
const reported = new WeakMap<Kernel, Set<string>>();

function outOfBounds(kernel: Kernel, where: string, n: number): void {
  let sites = reported.get(kernel);
  if (sites === undefined) reported.set(kernel, (sites = new Set()));
  if (sites.has(where)) return;
  sites.add(where);
  warn(kernel, `UBSAN: shift-out-of-bounds in ${where}: shift exponent ${n} is too large for 64-bit type 'unsigned long'`);
}

/** `x >> n` on unsigned long. */
export function shr64(kernel: Kernel, where: string, x: bigint, n: number): bigint {
  if (n >= 64) outOfBounds(kernel, where, n);
  return (x & U64) >> BigInt(n & 63);
}

/** `x << n` on unsigned long. */
export function shl64(kernel: Kernel, where: string, x: bigint, n: number): bigint {
  if (n >= 64) outOfBounds(kernel, where, n);
  return (x << BigInt(n & 63)) & U64;
}

/** Sites reported so far, for the explorer's state fingerprint (a site reports once). */
export function ubsan_reported(kernel: Kernel): ReadonlySet<string> | undefined {
  return reported.get(kernel);
}
