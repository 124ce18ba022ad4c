import { describe, expect, test } from 'vitest';
import { MAX_TRACE_BYTES, parseTrace, serializeTrace } from '../../src/trace/index.js';
import { sampleTrace } from './sampleTrace.js';

const F = 'traces/t.json';
const good = (): Record<string, unknown> => JSON.parse(serializeTrace(sampleTrace())) as Record<string, unknown>;
const withCommand = (cmd: unknown, at = 2): string => {
  const t = good();
  (t.commands as unknown[])[at] = cmd;
  return JSON.stringify(t);
};

/** Every failure: one line, prefixed with the file name, no exception. */
const error = (text: string, limit?: number): string => {
  const r = parseTrace(text, F, limit);
  if (r.ok) throw new Error('expected a validation error');
  expect(r.error.split('\n')).toHaveLength(1);
  expect(r.error.startsWith(`${F}: `)).toBe(true);
  return r.error.slice(F.length + 2);
};

describe('trace validation', () => {
  test('A good trace validates to the same value', () => {
    const r = parseTrace(serializeTrace(sampleTrace()), F);
    expect(r).toEqual({ ok: true, value: sampleTrace() });
  });

  test('Malformed, empty and non-object JSON give one line with a position', () => {
    expect(error('{"formatVersion": 1,,}')).toMatch(/^malformed JSON at line 1 column 21: /);
    expect(error('')).toBe('empty file (not a trace)');
    expect(error('[1, 2]')).toBe('not a trace: the top level must be a JSON object');
    expect(error('"x"')).toBe('not a trace: the top level must be a JSON object');
  });

  test('A trace cut anywhere is reported as truncated or malformed, never thrown', () => {
    const text = serializeTrace(sampleTrace());
    for (let cut = 1; cut < text.length - 2; cut += 37) {
      expect(error(text.slice(0, cut))).toMatch(/^(truncated JSON|malformed JSON)/);
    }
    expect(error(text.slice(0, text.length - 5))).toMatch(/^truncated JSON: the text ends at line \d+ column \d+/);
  });

  test('Oversized input is refused on its byte length before parsing', () => {
    // Not JSON at all: had it been parsed, the message would say malformed.
    expect(error('x'.repeat(101), 100)).toBe('too large (101 bytes; the limit is 100 bytes)');
    // Multi-byte characters count as bytes, not as UTF-16 units.
    expect(error('é'.repeat(60), 100)).toBe('too large (120 bytes; the limit is 100 bytes)');
    expect(error(' '.repeat(MAX_TRACE_BYTES + 1))).toMatch(/^too large/);
  });

  test('A wrong or missing format version is named as such', () => {
    expect(error(JSON.stringify({ ...good(), formatVersion: 2 }))).toBe('formatVersion: unsupported version 2 (this harness reads version 1)');
    const { formatVersion: _, ...rest } = good();
    expect(error(JSON.stringify(rest))).toBe('formatVersion: missing (not an sva-harness trace?)');
  });

  test('An unknown command kind names the step and the known kinds', () => {
    expect(error(withCommand({ kind: 'frobnicate', mm: 0 }))).toMatch(/^commands\[2\]\.kind: unknown command kind 'frobnicate' \(expected one of: bind, unbind,/);
    expect(error(withCommand({ mm: 0 }))).toBe('commands[2].kind: missing command kind');
  });

  test('Wrong field types, missing and unknown fields are named by their JSON path', () => {
    expect(error(withCommand({ kind: 'bind', dev: 0 }))).toBe('commands[2].mm: missing (expected number)');
    expect(error(withCommand({ kind: 'bind', dev: 0, mm: 1.5 }))).toMatch(/^commands\[2\]\.mm: expected int/);
    expect(error(withCommand({ kind: 'bind', dev: 0, mm: 0, pasid: 3 }))).toBe("commands[2]: unknown field 'pasid'");
    expect(error(withCommand({ kind: 'failNext', site: 'pgd' }))).toMatch(/^commands\[2\]\.site: expected one of .*got 'pgd'$/);
    const t = good();
    (t.steps as { actual: unknown }[])[3]!.actual = { ok: false, errno: 'EWHATEVER' };
    expect(error(JSON.stringify(t))).toMatch(/^steps\[3\]\.actual\.errno: expected one of .*got 'EWHATEVER'$/);
  });

  test('Ids out of range for the trace\'s own topology are refused with the bounds', () => {
    // seedThreadTopology: 4 devices, 2 mm slots, 4 pages, 1 kernel page.
    expect(error(withCommand({ kind: 'dma', dev: 4, mm: 0, page: 0, write: false }))).toBe(
      'commands[2].dev: device 4 out of range for this topology (0..3) (step 2)');
    expect(error(withCommand({ kind: 'exit', mm: 2 }))).toBe('commands[2].mm: mm slot 2 out of range for this topology (0..1) (step 2)');
    expect(error(withCommand({ kind: 'touch', mm: 0, page: -1, write: true }))).toBe(
      'commands[2].page: page -1 out of range for this topology (0..3) (step 2)');
    expect(error(withCommand({ kind: 'vfree', kpage: 1 }))).toBe('commands[2].kpage: kernel page 1 out of range for this topology (0..0) (step 2)');
    expect(error(withCommand({ kind: 'fork', mm: 0, child: 5 }))).toBe('commands[2].child: mm slot 5 out of range for this topology (0..1) (step 2)');
    expect(error(withCommand({ kind: 'munmap', mm: 0, first: 2, count: 3 }))).toBe(
      "commands[2].count: pages 2..4 run past the topology's 4 pages (step 2)");
    expect(error(withCommand({ kind: 'mmap', mm: 0, first: 0, count: 0, prot: 'r' }))).toBe('commands[2].count: 0, must be at least 1 (step 2)');
  });

  test('A topology that fails topologyError is refused', () => {
    const t = good();
    (t.topology as Record<string, unknown>).mms = 0;
    expect(error(JSON.stringify(t))).toBe('topology: mms: between 1 and 8');
    (t.topology as Record<string, unknown>).platform = 'riscv';
    expect(error(JSON.stringify(t))).toMatch(/^topology\.platform: expected one of "vtd"\|"smmuv3"\|"amd", got 'riscv'$/);
  });

  test('A violation step or a step list beyond the commands is refused', () => {
    const t = good();
    (t.violation as Record<string, unknown>).step = 6;
    expect(error(JSON.stringify(t))).toBe('violation.step: step 6 out of range (the trace has 6 commands)');
    const u = good();
    (u.commands as unknown[]).pop();
    delete u.violation;
    expect(error(JSON.stringify(u))).toBe('steps: 6 steps recorded for 5 commands');
  });
});
