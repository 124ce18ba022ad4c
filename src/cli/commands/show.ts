import { formatTimeline, loadTrace, traceToMermaid } from '../../trace/index.js';
import { type CliCommand, usageError } from '../command.js';
import { EXIT_OK } from '../exit.js';
import { parseChoice } from '../values.js';

const FORMATS = ['text', 'mermaid'] as const;

export const showCommand: CliCommand = {
  name: 'show',
  title: "print a saved trace as a text timeline or a Mermaid sequence diagram",
  summary: 'Print a saved trace as a text timeline or as a Mermaid sequence diagram.',
  positionals: ['<trace>'],
  options: [{ name: 'format', value: 'text|mermaid', help: 'output format (default: text)' }],
  notes: ['The trace is validated first; an invalid file gets one error line and exit code 2.'],
  run: (args, { io }) => {
    const raw = args.options.get('format');
    const format = parseChoice('format', typeof raw === 'string' ? raw : 'text', FORMATS);
    if (!format.ok) return usageError(io, 'show', format.error);
    const trace = loadTrace(args.positionals[0]!);
    if (!trace.ok) return usageError(io, 'show', trace.error);
    io.out(format.value === 'text' ? formatTimeline(trace.value) : traceToMermaid(trace.value));
    return EXIT_OK;
  },
};
