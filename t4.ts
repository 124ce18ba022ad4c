import { findFault } from './models/index.js';
import { formatCommand } from './src/trace/index.js';
for (const seed of [1, 2, 3, 4, 5]) {
  const f = findFault(undefined, { platform: 'smmuv3', seed, runs: 200 });
  const tr = f.trace;
  if (!tr) { console.log(seed, f.error ?? 'clean'); continue; }
  console.log(seed, JSON.stringify(tr.violation), JSON.stringify(tr.topology.devices));
  tr.commands.forEach((c, i) => console.log(i, formatCommand(c)));
}
