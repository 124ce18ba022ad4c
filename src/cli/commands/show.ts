import { basename } from 'node:path';
import { formatTimeline, loadTrace, traceToMermaid } from '../../trace/index.js';
import { traceToHtml } from '../../view/html.js';
import { violationBlock } from '../../view/index.js';
import { type CliCommand, usageError } from '../command.js';
import { EXIT_OK } from '../exit.js';
import { fixedRun } from '../fixedRun.js';
import { parseChoice } from '../values.js';

const FORMATS = ['text', 'mermaid', 'html'] as const;

export const showCommand: CliCommand = {
  name: 'show',
  title: "print a saved trace as a text timeline, a Mermaid sequence diagram or an HTML page",
  summary: 'Print a saved trace as a text timeline with its violation block, as a Mermaid sequence\n' +
    'diagram, or as one self-contained HTML page (timeline by lanes, sequence diagram, violation,\n' +
    'a state inspector per step and the diff at the failing step; the trace is re-executed for it).',
  positionals: ['<trace>'],
  options: [{ name: 'format', value: 'text|mermaid|html', help: 'output format (default: text)' }],
  notes: [
    'The trace is validated first; an invalid file gets one error line and exit code 2.',
    'sva-harness show --format html trace.json > trace.html   (no network needed to view it)',
  ],
  run: (args, { io, runner }) => {
    const raw = args.options.get('format');
    const format = parseChoice('format', typeof raw === 'string' ? raw : 'text', FORMATS);
    if (!format.ok) return usageError(io, 'show', format.error);
    const file = args.positionals[0]!;
    const loaded = loadTrace(file);
    if (!loaded.ok) return usageError(io, 'show', loaded.error);
    const trace = loaded.value;
    switch (format.value) {
      case 'mermaid':
        io.out(traceToMermaid(trace));
        break;
      case 'html': {
        const fixed = fixedRun(runner, trace);
        io.out(traceToHtml(trace, { name: basename(file), ...(fixed === undefined ? {} : { fixed }) }));
        break;
      }
      case 'text': {
        const block = violationBlock(trace, fixedRun(runner, trace));
        io.out(`${formatTimeline(trace)}${block.length === 0 ? '' : `\n${block.join('\n')}\n`}`);
        break;
      }
    }
    return EXIT_OK;
  },
};
