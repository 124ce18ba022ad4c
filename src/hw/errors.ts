/**
 * A bad call into the emulated hardware: an unknown id, an out-of-range PASID/ASID/SSID, a
 * malformed descriptor. Hardware misuse is a bug in the caller, so it throws this typed error
 * (never an undefined crash); expected kernel failures are errnos, not this.
 */
export class HwError extends Error {
  override readonly name = 'HwError';
  constructor(readonly unit: string, message: string) {
    super(`${unit}: ${message}`);
  }
}

export const checkId = (unit: string, what: string, id: number, limit: number): void => {
  if (!Number.isInteger(id) || id < 0 || id >= limit) {
    throw new HwError(unit, `${what} ${id} out of range [0, ${limit - 1}]`);
  }
};
