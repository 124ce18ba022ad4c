import { describe, expect, test } from 'vitest';
import {
  type BenchContext, type FaultRow, type SeedResult, cleanViolations, formatCount, formatFaultTable, formatSeconds, max, median,
  renderFaultsMarkdown, summarizeRow,
} from '../../scripts/faultsReport.js';

const hit = (seed: number, invariant: string, runsToFailure: number, msToFailure: number, shrunkLength: number, shrinkMs: number, expected = true): SeedResult => ({
  seed, found: true, invariant, firstInvariant: invariant, expected, runs: runsToFailure, runsToFailure, msToFailure, shrunkLength, shrinkMs,
  elapsedMs: msToFailure + shrinkMs, counterexample: ['spawn(mm0)'],
});
const miss = (seed: number): SeedResult => ({ seed, found: false, expected: false, runs: 300, elapsedMs: 1500 });

const b07: FaultRow = {
  fault: 'B07', title: 'SVA domains get second-stage IOTLB flushes', platform: 'vtd',
  seeds: [hit(1, 'I6', 4, 40, 5, 200), hit(2, 'OBS', 10, 120, 6, 300), miss(3), hit(4, 'I6', 2, 20, 5, 100)],
};
const clean: FaultRow = { title: 'clean run: no fault on', platform: 'vtd', seeds: [miss(1), miss(2)] };
const ctx: BenchContext = {
  date: '2026-01-02', machine: { node: 'v20.20.2', cpu: 'AMD EPYC', cores: 2, os: 'linux x64' },
  budget: { runs: 300, seconds: 5 }, topology: 'random', seeds: [1, 2],
};

describe('The fault benchmark\'s statistics', () => {
  test('median takes the middle value, or the mean of the two middle ones; max the largest; both undefined when empty', () => {
    expect(median([5, 1, 3])).toBe(3);
    expect(median([4, 1, 3, 10])).toBe(3.5);
    expect(median([])).toBeUndefined();
    expect(max([2, 9, 4])).toBe(9);
    expect(max([])).toBeUndefined();
  });

  test('A row counts found seeds and summarises only those', () => {
    expect(summarizeRow(b07)).toEqual({
      found: 3, total: 4, perSeed: 'xx.x',
      invariants: [{ id: 'I6', count: 2 }, { id: 'OBS', count: 1 }],
      allExpected: true,
      medianRuns: 4, maxRuns: 10, medianMs: 40, maxMs: 120, medianShrunkLength: 5, maxShrunkLength: 6, medianShrinkMs: 200, errors: 0,
    });
  });

  test('A row with nothing found has no medians, and the clean row count is the clean violations', () => {
    const s = summarizeRow(clean);
    expect(s).toEqual({ found: 0, total: 2, perSeed: '..', invariants: [], allExpected: true, errors: 0 });
    expect(cleanViolations([clean, b07])).toBe(0);
    expect(cleanViolations([{ ...clean, seeds: [hit(1, 'I12', 3, 10, 4, 5)] }, b07])).toBe(1);
  });

  test('Counts and times print compactly; a missing value is a dash', () => {
    expect([formatCount(4), formatCount(3.5), formatCount(undefined)]).toEqual(['4', '3.5', '-']);
    expect([formatSeconds(42), formatSeconds(1250), formatSeconds(12345), formatSeconds(undefined)]).toEqual(['0.042 s', '1.25 s', '12.3 s', '-']);
  });
});

describe('The fault benchmark\'s tables', () => {
  test('The terminal table has one row per fault and platform, with found per seed, the medians and the maxima', () => {
    const lines = formatFaultTable([clean, b07]);
    expect(lines).toHaveLength(4);
    expect(lines[2]).toMatch(/^clean\s+vtd\s+0\/2\s+\.\.\s+-\s+- \/ -\s+- \/ -\s+- \/ -\s+-$/);
    expect(lines[3]).toMatch(/^B07\s+vtd\s+3\/4\s+xx\.x\s+I6×2 OBS×1\s+4 \/ 10\s+0\.040 s \/ 0\.120 s\s+5 \/ 6\s+0\.200 s$/);
  });

  test('An invariant the fault table does not expect is flagged', () => {
    const odd: FaultRow = { ...b07, seeds: [hit(1, 'I3', 1, 1, 1, 1, false)] };
    expect(formatFaultTable([odd])[2]).toContain('I3×1 (unexpected)');
  });

  test('The Markdown page names the date, the machine, the budget and the clean result, then the rows', () => {
    const md = renderFaultsMarkdown(ctx, [clean, b07]);
    expect(md).toContain('on 2026-01-02: Node v20.20.2, AMD EPYC (2 cores, linux x64), one core used.');
    expect(md).toContain('over 2 seeds (1, 2), each until the first failure or 300 runs or 5 s.');
    expect(md).toContain('Clean run (no fault): 0 violations.');
    expect(md).toContain('| B07 | vtd | 3/4 | xx.x | I6×2 OBS×1 | 4 / 10 | 0.040 s / 0.120 s | 5 / 6 | 0.200 s | SVA domains get second-stage IOTLB flushes |');
    const table = md.split('\n').filter((l) => l.startsWith('|'));
    expect(table).toHaveLength(4);
    // Every table line has the same number of cells as the header.
    expect(new Set(table.map((l) => l.split('|').length)).size).toBe(1);
  });

  test('The page states the concurrent groups the runs drew, when the bench recorded them', () => {
    expect(renderFaultsMarkdown(ctx, [clean])).not.toContain('Concurrent groups');
    const off = renderFaultsMarkdown({ ...ctx, groups: { rate: 0, scheduler: 'mix' } }, [clean]);
    expect(off).toContain('Concurrent groups: none (`--groups 0`, the sequential runs)');
    const on = renderFaultsMarkdown({ ...ctx, groups: { rate: 0.15, scheduler: 'mix' } }, [clean]);
    expect(on).toContain('Concurrent groups: 0.15 of the generated steps are groups of 2-3 commands, scheduler `mix` (`run --groups 0.15 --sched mix`).');
  });

  test('A clean run that found something is bold in the Markdown page', () => {
    const md = renderFaultsMarkdown(ctx, [{ ...clean, seeds: [hit(1, 'I12', 3, 10, 4, 5)] }]);
    expect(md).toContain('Clean run (no fault): **1 violations**.');
  });
});
