/**
 * The HTML viewer: one self-contained page (inline CSS, SVG and a few lines of script; no
 * network) with the violation block, the timeline by lanes, the sequence diagram, a state
 * inspector per step (kernel objects, PASID tables / CDs, caches, queues) and the diff between
 * the failing step and the one before it.
 */
import { LANES } from '../shared/index.js';
import { formatCommand, formatHeader, formatObservation, laneLabel, newTrace, traceToMermaid } from '../trace/index.js';
import type { Trace } from '../trace/index.js';
import { escapeHtml, scriptJson } from './escape.js';
import { sequenceSvg } from './sequenceSvg.js';
import { type Snapshot, snapshotRun } from './snapshot.js';
import { formatStateDiff, relevantStateDiff } from './stateDiff.js';
import { violationBlock } from './violationBlock.js';

const CSS = `
body{font:14px/1.4 system-ui,sans-serif;margin:16px 24px;color:#1d1d1f;background:#fff}
h1{font-size:20px;margin:0 0 4px}h2{font-size:16px;margin:24px 0 8px;border-bottom:1px solid #ddd}
pre{font:12.5px/1.45 ui-monospace,Menlo,Consolas,monospace;background:#f6f6f8;padding:10px;border-radius:6px;overflow-x:auto}
#violation pre{background:#fff0f0;border:1px solid #f3b4b4;white-space:pre-wrap}
table.lanes{border-collapse:collapse;font:12px ui-monospace,monospace;width:100%}
table.lanes th,table.lanes td{border:1px solid #ddd;padding:3px 5px;vertical-align:top;text-align:left}
table.lanes th{background:#eef}table.lanes tr.failing td{background:#ffe4e4}
td.cmd{white-space:nowrap;font-weight:600}td div{margin:1px 0}.mismatch{color:#b00020;font-weight:700}
svg.sequence{font:11px ui-monospace,monospace}svg .head{fill:#eef;stroke:#99a}svg .head-text{text-anchor:middle;font-weight:700}
svg .life{stroke:#bbb;stroke-dasharray:3 3}svg .call{stroke:#335;fill:none}svg .reply{stroke:#557;stroke-dasharray:4 3;fill:none}
svg .note{fill:#fffbe6;stroke:#e0c060}svg .failing{fill:#ffe4e4}svg .sep{stroke:#eee}svg .violation{fill:#b00020;font-weight:700}
#steps button{font:12px ui-monospace,monospace;margin:2px;padding:2px 6px;border:1px solid #99a;background:#fff;border-radius:4px;cursor:pointer}
#steps button.sel{background:#335;color:#fff}#steps button.failing{border-color:#b00020}
.unit{display:inline-block;vertical-align:top;margin:0 16px 8px 0;min-width:300px}.unit h3{font-size:14px;margin:8px 0 2px}
.unit h4{font-size:12px;margin:6px 0 0;color:#555}.unit ul{margin:0;padding-left:18px;font:12px ui-monospace,monospace}
.added{color:#0a6a0a}.removed{color:#b00020}
`;

const SCRIPT = `
(function(){
  var states=JSON.parse(document.getElementById('states').textContent);
  var labels=JSON.parse(document.getElementById('labels').textContent);
  var panel=document.getElementById('state');
  function el(t,c,x){var e=document.createElement(t);if(c)e.className=c;if(x!==undefined)e.textContent=x;return e;}
  function show(i){
    panel.textContent='';
    panel.appendChild(el('p','',labels[i]));
    var s=states[i];
    Object.keys(s).forEach(function(unit){
      var u=el('div','unit');u.appendChild(el('h3','',unit));
      Object.keys(s[unit]).forEach(function(sec){
        u.appendChild(el('h4','',sec));var ul=el('ul');var rows=s[unit][sec];
        if(rows.length===0)ul.appendChild(el('li','','(empty)'));
        rows.forEach(function(r){ul.appendChild(el('li','',r));});u.appendChild(ul);
      });
      panel.appendChild(u);
    });
    document.querySelectorAll('#steps button').forEach(function(b){b.classList.toggle('sel',Number(b.dataset.i)===i);});
  }
  document.querySelectorAll('#steps button').forEach(function(b){b.addEventListener('click',function(){show(Number(b.dataset.i));});});
  show(Number(document.getElementById('steps').dataset.initial));
})();
`;

/** What changed in each table or cache from `a` to `b`: entries gone (−) and new (+). */
export const snapshotDiff = (a: Snapshot, b: Snapshot): { where: string; removed: string[]; added: string[] }[] => {
  const out: { where: string; removed: string[]; added: string[] }[] = [];
  for (const unit of Object.keys(b)) {
    for (const sec of Object.keys(b[unit] ?? {})) {
      const before = new Set(a[unit]?.[sec] ?? []);
      const after = new Set(b[unit]?.[sec] ?? []);
      const removed = [...before].filter((l) => !after.has(l));
      const added = [...after].filter((l) => !before.has(l));
      if (removed.length + added.length > 0) out.push({ where: `${unit} · ${sec}`, removed, added });
    }
  }
  return out;
};

const lanesTable = (trace: Trace): string => {
  const head = `<tr><th>step</th>${LANES.map((l) => `<th>${escapeHtml(laneLabel(l))}</th>`).join('')}</tr>`;
  const rows = trace.commands.map((cmd, i) => {
    const step = trace.steps[i];
    const failing = trace.violation?.step === i;
    const cells = LANES.map((lane) => {
      const events = (step?.events ?? []).filter((e) => e.lane === lane);
      return `<td>${events.map((e) => `<div>${escapeHtml(`${e.actor}: ${e.text}`)}</div>`).join('')}</td>`;
    });
    let result = '';
    if (step !== undefined) {
      const actual = formatObservation(cmd, step.actual);
      const expected = formatObservation(cmd, step.expected);
      result = actual === expected ? ` → ${escapeHtml(actual)}` : ` → ${escapeHtml(actual)} <span class="mismatch">expected ${escapeHtml(expected)}</span>`;
    }
    return `<tr class="${failing ? 'failing' : ''}" data-step="${i}"><td class="cmd">#${i} ${escapeHtml(formatCommand(cmd))}${result}</td>${cells.join('')}</tr>`;
  });
  return `<table class="lanes">${head}${rows.join('')}</table>`;
};

const diffHtml = (states: readonly Snapshot[], specBefore: unknown, specAfter: unknown, trace: Trace): string => {
  const v = trace.violation;
  if (v === undefined || states.length < v.step + 2) return '<p>No failing step.</p>';
  const parts = snapshotDiff(states[v.step]!, states[v.step + 1]!).map((d) =>
    `<h4>${escapeHtml(d.where)}</h4><ul>${d.removed.map((l) => `<li class="removed">− ${escapeHtml(l)}</li>`).join('')}` +
    `${d.added.map((l) => `<li class="added">+ ${escapeHtml(l)}</li>`).join('')}</ul>`);
  const spec = formatStateDiff(v.step, relevantStateDiff(trace, specBefore, specAfter));
  return `<p>Step #${v.step - 1 < 0 ? '(boot)' : v.step - 1} → step #${v.step} ${escapeHtml(formatCommand(trace.commands[v.step]!))}</p>` +
    `<div class="unit">${parts.join('') || '<p>(no table, cache or kernel object changed)</p>'}</div><pre>${escapeHtml(spec)}</pre>`;
};

export interface HtmlOptions {
  /** The same commands on the fixed kernel (the fault off), for the violation block. */
  readonly fixed?: Trace;
  /** The file name shown in the title. */
  readonly name?: string;
}

/**
 * The page. The trace is re-executed to fill the state inspector (and its timeline is the
 * re-executed one: complete with driver and cache events); a trace that cannot be re-executed
 * (a test-only fault) is shown as recorded, without the inspector.
 */
export const traceToHtml = (saved: Trace, opts: HtmlOptions = {}): string => {
  const run = snapshotRun(saved);
  const { formatVersion: _f, harnessVersion: _h, steps: _s, violation: _v, ...header } = saved;
  const trace = run.ok
    ? newTrace({ ...header, steps: run.value.session.steps, ...(run.value.session.violation === undefined ? {} : { violation: run.value.session.violation }) })
    : saved;
  const v = trace.violation;
  const title = v === undefined ? 'sva-harness trace: no violation' : `sva-harness counterexample: ${v.invariant} ${v.title}`;
  const block = violationBlock(trace, opts.fixed);
  const labels = ['before step #0 (after boot)', ...trace.commands.map((c, i) => `after step #${i} ${formatCommand(c)}`)];
  const states = run.ok ? run.value.states : [];
  const initial = v === undefined ? states.length - 1 : v.step + 1;
  const buttons = states.map((_, i) =>
    `<button data-i="${i}" class="${v !== undefined && i === v.step + 1 ? 'failing' : ''}">${i === 0 ? 'boot' : `#${i - 1}`}</button>`).join('');
  const inspector = run.ok
    ? `<div id="steps" data-initial="${initial}">${buttons}</div><div id="state"></div>` +
      `<script id="states" type="application/json">${scriptJson(states)}</script>` +
      `<script id="labels" type="application/json">${scriptJson(labels.slice(0, states.length))}</script><script>${SCRIPT}</script>`
    : `<p>No state inspector: ${escapeHtml(run.error)}</p>`;
  const diff = run.ok && v !== undefined ? diffHtml(states, run.value.spec[v.step], run.value.spec[v.step + 1], trace) : '<p>No failing step.</p>';
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title>
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:">
<style>${CSS}</style></head><body>
<h1>${escapeHtml(title)}</h1>
<pre id="header">${escapeHtml([...(opts.name === undefined ? [] : [`file: ${opts.name}`]), ...formatHeader(trace)].join('\n'))}</pre>
<section id="violation"><h2>Violation</h2>${block.length === 0 ? '<p>The trace runs clean.</p>' : `<pre>${escapeHtml(block.join('\n'))}</pre>`}</section>
<section id="timeline"><h2>Timeline by lanes</h2>${lanesTable(trace)}</section>
<section id="sequence"><h2>Sequence diagram</h2>${sequenceSvg(trace)}
<details><summary>Mermaid source</summary><pre>${escapeHtml(traceToMermaid(trace))}</pre></details></section>
<section id="inspector"><h2>State inspector</h2>${inspector}</section>
<section id="diff"><h2>Failing step against the one before</h2>${diff}</section>
</body></html>
`;
};
