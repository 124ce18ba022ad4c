/** A group's tasks as lanes in the timeline and as participants in the Mermaid diagram. */
import { describe, expect, test } from 'vitest';
import { formatTimeline, traceToMermaid } from '../../src/trace/index.js';
import { groupTrace } from './groupTrace.js';

describe('group lanes', () => {
  const trace = groupTrace();
  const g = trace.groups![0]!;

  test('the timeline names one lane per task and marks every recorded context switch', () => {
    const text = formatTimeline(trace);
    expect(text).toContain('── group #2..#4: 3 tasks in parallel, random scheduler, seed 5');
    expect(text).toContain('lane 0 cpu0:bind(d0,mm1) [cpu]');
    expect(text).toContain('lane 1 cpu1:touch(mm1,p1,w) [cpu]');
    const switches = g.points!.filter((p) => p.switched).length;
    expect(switches).toBeGreaterThan(0);
    expect(text.split('\n').filter((l) => l.includes('⇄ point')).length).toBe(switches);
    // Every event of the group sits under its task's lane, none is printed twice.
    const events = g.size === 3 ? [0, 1, 2].flatMap((k) => trace.steps[g.at + k]!.events ?? []) : [];
    expect(text.split('\n').filter((l) => l.includes(' │ ')).length).toBe(events.length);
    expect(text).toMatch(/cpu1:touch\(mm1,p1,w\)\s+│ cpu\s+mm1: fault page 1/);
  });

  test('a trace without groups prints as before (no lane lines)', () => {
    const { groups: _groups, ...plain } = trace;
    expect(formatTimeline(plain)).not.toContain('── group');
  });

  test('the Mermaid diagram has one participant per task and an arrow per switch', () => {
    const m = traceToMermaid(trace);
    for (const t of g.tasks!) expect(m).toContain(`as task ${t.name}`);
    const switches = g.points!.filter((p) => p.switched && p.at > 0).length;
    expect(m.split('\n').filter((l) => /-->>t\d+: switch at point/.test(l)).length).toBe(switches);
    expect(m).toContain('Note over t1: [3] cpu1:touch(mm1,p1,w)');
  });
});
