import { basename } from 'node:path';
import { loadTrace } from '../../trace/index.js';
import { traceToKunit } from '../../view/kunit.js';
import { type CliCommand, usageError } from '../command.js';
import { EXIT_OK } from '../exit.js';
import { parseChoice } from '../values.js';

const FORMATS = ['kunit'] as const;

export const exportCommand: CliCommand = {
  name: 'export',
  title: 'write a kernel-side reproducer of a saved trace (a KUnit test skeleton)',
  summary: "Write a saved trace as a KUnit test skeleton in C: the trace's sequence with the kernel's own\n" +
    'calls and the expected result at each step. The helpers KUnit cannot provide (device discovery,\n' +
    'device DMA, fork, mprotect of another mm) are marked TODO in the file.',
  positionals: ['<trace>'],
  options: [{ name: 'format', value: 'kunit', help: 'output format (default: kunit)' }],
  notes: ['The C file goes to stdout: sva-harness export trace.json > drivers/iommu/sva_repro_kunit.c'],
  run: (args, { io }) => {
    const raw = args.options.get('format');
    const format = parseChoice('format', typeof raw === 'string' ? raw : 'kunit', FORMATS);
    if (!format.ok) return usageError(io, 'export', format.error);
    const file = args.positionals[0]!;
    const trace = loadTrace(file);
    if (!trace.ok) return usageError(io, 'export', trace.error);
    io.out(traceToKunit(trace.value, basename(file)));
    return EXIT_OK;
  },
};
