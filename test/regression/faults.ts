/**
 * Test-only injected bugs the saved regression traces name in their `fault` field. Each
 * wraps the platform's real driver; the regression suite replays a trace with its fault (the
 * recorded violation must come back) and without it (the correct impl must run clean).
 */
import type { IommuDriver } from '../../src/impl/index.js';
import { withoutSecondaryTlbFlush } from '../models/brokenDriver.js';

export const TEST_FAULTS: Readonly<Record<string, (real: IommuDriver) => IommuDriver>> = {
  'test:no-secondary-tlb-flush': withoutSecondaryTlbFlush,
};
