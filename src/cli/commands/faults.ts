import { FAULT_HEADER, faultNotes, faultRows } from '../../view/catalog.js';
import { type CliCommand } from '../command.js';
import { EXIT_OK } from '../exit.js';
import { formatTable } from '../summary.js';

export const faultsCommand: CliCommand = {
  name: 'faults',
  title: 'list the historical bugs that can be switched on (--fault)',
  summary: 'List the historical SVA bugs the ported kernel can be switched back to with --fault:\n' +
    'id, platforms, whether the harness represents the conditions to reach it, fixing commit, title.',
  positionals: [],
  options: [],
  notes: [],
  run: (_args, { io }) => {
    io.out(`${[...formatTable(FAULT_HEADER, faultRows()), '', ...faultNotes()].join('\n')}\n`);
    return EXIT_OK;
  },
};
