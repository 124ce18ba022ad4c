/**
 * `run --junit FILE`: the run as a JUnit XML report, the format every CI system renders. One
 * test suite, one test case per platform searched; a violation is a <failure> naming the
 * invariant and the trace to replay, a run stopped early is noted in <system-out>.
 */
import type { RunReport } from './runReport.js';

const escapeXml = (s: string): string =>
  s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[c]!)
    // XML 1.0 allows no control characters but tab, newline and carriage return.
    .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f]/g, '');

const seconds = (ms: number): string => (ms / 1000).toFixed(3);

export const junitReport = (r: RunReport): string => {
  const slice = r.slice === null ? '' : `, slice ${r.slice.index}/${r.slice.count}`;
  const budget = r.budget.kind === 'runs' ? `${r.budget.runs} runs` : `${r.budget.seconds} s`;
  const cases = r.platforms.map((p) => {
    const name = `${p.platform}: seed ${r.seed}${slice}, ${r.topology.mode} topology, ${budget}${r.fault === null ? '' : `, fault ${r.fault}`}`;
    const mine = r.traces.filter((t) => t.platform === p.platform);
    const failures = mine.map((t) =>
      `      <failure type="${escapeXml(t.invariant ?? 'violation')}" message="${escapeXml(`${t.invariant ?? 'violation'} at step #${t.step ?? '?'}`)}">` +
      `${escapeXml(`trace: ${t.path}\nreplay: npx sva-harness replay ${t.path}`)}</failure>\n`);
    // A violation whose trace could not be read back still fails the case.
    if (failures.length === 0 && p.violations > 0) failures.push(`      <failure type="violation" message="${p.violations} violation(s); see the run's output"/>\n`);
    const out = [`runs ${p.runs}, steps ${p.steps}, commands ${p.distinctCommands}/${p.commandKinds}, transitions ${p.transitionsCovered}/${p.transitionsTotal}`];
    if (p.stopped !== null) out.push(`stopped early: ${p.stopped}`);
    return `    <testcase classname="sva-harness.run.${escapeXml(p.platform)}" name="${escapeXml(name)}" time="${seconds(p.elapsedMs)}">\n` +
      failures.join('') + `      <system-out>${escapeXml(out.join('\n'))}</system-out>\n    </testcase>\n`;
  });
  const failures = r.platforms.filter((p) => p.violations > 0).length;
  const time = seconds(r.platforms.reduce((a, p) => a + p.elapsedMs, 0));
  return '<?xml version="1.0" encoding="UTF-8"?>\n' +
    `<testsuites name="sva-harness" tests="${r.platforms.length}" failures="${failures}" errors="0" time="${time}">\n` +
    `  <testsuite name="sva-harness run" tests="${r.platforms.length}" failures="${failures}" errors="0" skipped="0" time="${time}">\n` +
    cases.join('') + '  </testsuite>\n</testsuites>\n';
};
