import { fingerprint, scopeTopology, DEFAULT_SCOPE } from './src/explore/index.js';
import { openSession, checkedStep } from './src/harness/index.js';
const t = scopeTopology('vtd', DEFAULT_SCOPE); if (!t.ok) throw 0;
const path = [{kind:'spawn',mm:0},{kind:'bind',dev:0,mm:0},{kind:'mmap',mm:0,first:0,count:2,prot:'rw'},{kind:'touch',mm:0,page:0,write:true}] as const;
for (let r = 0; r < 3; r++) {
let t0 = performance.now();
for (let i = 0; i < 5000; i++) openSession(t.value);
const a = (performance.now()-t0)/5; t0 = performance.now();
for (let i = 0; i < 5000; i++) { const s = openSession(t.value); for (const c of path) checkedStep(s, c); }
const b = (performance.now()-t0)/5; t0 = performance.now();
const s = openSession(t.value); for (const c of path) checkedStep(s, c);
for (let i = 0; i < 5000; i++) fingerprint(s);
const c = (performance.now()-t0)/5;
console.log('us: open', a.toFixed(1), 'open+4 steps', b.toFixed(1), 'fingerprint', c.toFixed(1));
}
