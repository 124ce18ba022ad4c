import { INVARIANT_HEADER, invariantRows } from '../../view/catalog.js';
import { type CliCommand } from '../command.js';
import { EXIT_OK } from '../exit.js';

export const invariantsCommand: CliCommand = {
  name: 'invariants',
  title: 'list the invariants checked after every step, with the kernel rule and its source',
  summary: 'List every invariant the runner checks after every step: id, title, the kernel rule it\n' +
    'mirrors and where that rule lives in the kernel.',
  positionals: [],
  options: [],
  notes: [],
  // One block per invariant: the rule and the source are sentences, too wide for a table.
  run: (_args, { io }) => {
    const [, , rule, source] = INVARIANT_HEADER;
    const blocks = invariantRows().map(([id, t, r, s]) => `${id}  ${t}\n  ${rule}: ${r}\n  ${source}: ${s}\n`);
    io.out(blocks.join('\n'));
    return EXIT_OK;
  },
};
