import { exploreTopology, scopeTopology, DEFAULT_SCOPE } from './src/explore/index.js';
const plat = (process.argv[2] ?? 'vtd') as 'vtd';
const depth = Number(process.argv[3] ?? 4);
const fault = process.argv[4] as undefined;
const t = scopeTopology(plat, DEFAULT_SCOPE); if (!t.ok) throw 0;
const t0 = performance.now();
const r = exploreTopology(t.value, { depth, ...(fault ? { fault } : {}) });
const ms = performance.now() - t0;
console.log(plat, depth, r.distinctStates, r.transitions, r.depthComplete, (ms/1000).toFixed(2)+'s', Math.round(r.distinctStates/ms*1000)+' states/s', Math.round(r.transitions/ms*1000)+' tr/s', r.violation?.invariant, r.commands?.length);
