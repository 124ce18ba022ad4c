import { type CliCommand, usageError } from '../command.js';
import { EXIT_OK } from '../exit.js';
import { parseChoice } from '../values.js';

const FORMATS = ['mermaid', 'markdown'] as const;

export const machinesCommand: CliCommand = {
  name: 'machines',
  title: "print the spec's lifecycle machines as Mermaid state diagrams",
  summary: "Print the spec's lifecycle machines as Mermaid state diagrams: Markdown with one\n" +
    '```mermaid block per machine, or with --machine one diagram as a plain .mmd document.',
  positionals: [],
  options: [
    { name: 'machine', value: 'NAME', help: 'only this machine' },
    { name: 'format', value: 'mermaid|markdown', help: 'markdown (default for all machines) or mermaid (one machine: a valid .mmd file)' },
  ],
  notes: ['A Mermaid document holds one diagram, so --format mermaid needs --machine.'],
  run: async (args, { io, machines }) => {
    const all = await machines();
    const wanted = args.options.get('machine');
    const chosen = typeof wanted === 'string' ? all.filter((m) => m.name === wanted) : all;
    if (chosen.length === 0) {
      return usageError(io, 'machines', `bad --machine '${String(wanted)}': expected one of ${all.map((m) => m.name).join(', ')}`);
    }
    const rawFormat = args.options.get('format');
    const format = parseChoice('format', typeof rawFormat === 'string' ? rawFormat : chosen.length === 1 ? 'mermaid' : 'markdown', FORMATS);
    if (!format.ok) return usageError(io, 'machines', format.error);
    if (format.value === 'mermaid' && chosen.length > 1) {
      return usageError(io, 'machines', `a Mermaid document holds one diagram: pick one with --machine (${all.map((m) => m.name).join(', ')}) or use --format markdown`);
    }
    const blocks = chosen.map((m) => (format.value === 'markdown' ? `## ${m.name}\n\n\`\`\`mermaid\n${m.mermaid}\`\`\`\n` : m.mermaid));
    io.out(blocks.join('\n'));
    return EXIT_OK;
  },
};
