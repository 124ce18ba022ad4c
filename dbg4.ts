import { scopeTopology, DEFAULT_SCOPE } from './src/explore/index.js';
import { openSession, checkedStep } from './src/harness/index.js';
const t = scopeTopology('vtd', DEFAULT_SCOPE); if (!t.ok) throw 0;
const path = [{kind:'spawn',mm:0},{kind:'bind',dev:0,mm:0},{kind:'mmap',mm:0,first:0,count:2,prot:'rw'},{kind:'touch',mm:0,page:0,write:true}] as const;
for (let i = 0; i < 30000; i++) { const s = openSession(t.value); for (const c of path) checkedStep(s, c); }
