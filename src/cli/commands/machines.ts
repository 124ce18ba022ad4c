import { type CliCommand, usageError } from '../command.js';
import { EXIT_OK } from '../exit.js';
import { parseChoice } from '../values.js';

const FORMATS = ['mermaid', 'markdown'] as const;

export const machinesCommand: CliCommand = {
  name: 'machines',
  title: "print the spec's lifecycle machines as Mermaid state diagrams",
  summary: "Print the spec's lifecycle machines as Mermaid state diagrams.",
  positionals: [],
  options: [
    { name: 'machine', value: 'NAME', help: 'only this machine (one diagram: a valid .mmd file)' },
    { name: 'format', value: 'mermaid|markdown', help: "mermaid (default) or Markdown with a ```mermaid block per machine" },
  ],
  notes: [],
  run: async (args, { io, machines }) => {
    const rawFormat = args.options.get('format');
    const format = parseChoice('format', typeof rawFormat === 'string' ? rawFormat : 'mermaid', FORMATS);
    if (!format.ok) return usageError(io, 'machines', format.error);
    const all = await machines();
    const wanted = args.options.get('machine');
    const chosen = typeof wanted === 'string' ? all.filter((m) => m.name === wanted) : all;
    if (chosen.length === 0) {
      return usageError(io, 'machines', `bad --machine '${String(wanted)}': expected one of ${all.map((m) => m.name).join(', ')}`);
    }
    const blocks = chosen.map((m) =>
      format.value === 'markdown' ? `## ${m.name}\n\n\`\`\`mermaid\n${m.mermaid}\`\`\`\n` : chosen.length === 1 ? m.mermaid : `%% machine: ${m.name}\n${m.mermaid}`);
    io.out(blocks.join('\n'));
    return EXIT_OK;
  },
};
