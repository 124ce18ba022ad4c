import { type CliCommand } from '../command.js';
import { EXIT_OK, EXIT_VIOLATION } from '../exit.js';
import { runSelfcheck } from '../selfcheck.js';

export const selfcheckCommand: CliCommand = {
  name: 'selfcheck',
  title: "check the emulated memory, page tables, VT-d and AMD units and ATC with a fixed scenario",
  summary: 'Check the emulated hardware with a fixed scenario: map, walk at 4 and 5 levels, free a\n' +
    'page-table page, reuse its frame, and catch the stale walk and the stale ATC read.',
  positionals: [],
  options: [],
  notes: ['Exit code 0 when every check passes, 1 otherwise.'],
  run: (_args, { io }) => {
    const r = runSelfcheck();
    io.out(`${r.lines.join('\n')}\n`);
    return r.failed === 0 ? EXIT_OK : EXIT_VIOLATION;
  },
};
