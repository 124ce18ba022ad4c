import { readFileSync } from 'node:fs';

/** The trace format this harness writes and the only one it reads. Bump on any breaking change. */
export const TRACE_FORMAT_VERSION = 1;

let cached: string | undefined;

/**
 * package.json's "version", read once (not imported as JSON: tsconfig has no resolveJsonModule
 * and the CLI runs from source). A trace records it so a report names the harness that wrote it.
 */
export const harnessVersion = (): string => {
  if (cached === undefined) {
    const pkg: unknown = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8'));
    const v = typeof pkg === 'object' && pkg !== null ? (pkg as { version?: unknown }).version : undefined;
    cached = typeof v === 'string' ? v : '0.0.0-unknown';
  }
  return cached;
};
