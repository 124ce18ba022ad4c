/**
 * Test-only injected bugs: a deliberately broken driver registered under a `test:` name by the
 * test that owns it (the regression traces name `test:no-secondary-tlb-flush`). They are not
 * part of the fault corpus (src/shared/fault.ts): a user's `run --fault` never sees them, and
 * `replay` accepts a trace naming one only while a test has registered it.
 */
import type { IommuDriver } from '../src/impl/index.js';

/** Wraps the platform's real driver into the broken one. */
export type TestFaultDriver = (real: IommuDriver) => IommuDriver;

export const TEST_FAULT_PREFIX = 'test:';

const registered = new Map<string, TestFaultDriver>();

export const isTestFaultName = (name: string): boolean => name.startsWith(TEST_FAULT_PREFIX);

/** Called by a test (not by the harness) before it replays traces naming `name`. */
export const registerTestFault = (name: string, wrap: TestFaultDriver): void => {
  if (!isTestFaultName(name)) throw new Error(`a test-only fault name starts with '${TEST_FAULT_PREFIX}': '${name}'`);
  registered.set(name, wrap);
};

export const unregisterTestFault = (name: string): void => void registered.delete(name);

export const testFaultDriver = (name: string): TestFaultDriver | undefined => registered.get(name);
