import { type CliCommand, notWired, usageError } from '../command.js';
import { EXIT_OK, EXIT_VIOLATION } from '../exit.js';
import { createProgressReporter } from '../progress.js';
import { loadRunConfig, withRunConfig } from '../runConfig.js';
import { RUN_OPTIONS, toRunOptions } from '../runOptions.js';
import type { HarnessRunner } from '../../harness/index.js';
import { formatRunSummary } from '../summary.js';

export const runCommand: CliCommand = {
  name: 'run',
  title: "generate command sequences; check spec vs kernel logic on emulated hardware",
  summary: 'Generate command sequences and check the spec against the ported kernel logic on the\n' +
    'emulated hardware, step by step, with every invariant.',
  positionals: [],
  options: RUN_OPTIONS,
  notes: [
    'A progress bar (steps/s) goes to stderr when it is a terminal. The run ends with a summary table.',
    'Exit code 1 when a violation is found: its trace path is printed (see replay and show).',
    'With --fault, a platform the fault does not apply to is skipped (--platform both, the default,',
    'runs only the fault\'s own); naming only such platforms is refused (exit 2).',
    'Known upstream findings of the mainline port (docs/upstream-findings.md) are listed after the',
    'table and do not change the exit code; any other violation does. --fix NAME (or all) switches',
    'on a finding\'s proposed fix, after which that finding fails the run like any violation.',
    '--config FILE: e.g. {"platform": "vtd", "topology": "default", "seed": 7, "runs": 500, "fault": "B07"}.',
  ],
  run: (args, { io, runner }) => {
    const configPath = args.options.get('config');
    const config = typeof configPath === 'string' ? loadRunConfig(configPath) : undefined;
    if (config !== undefined && !config.ok) return usageError(io, 'run', config.error);
    const opts = toRunOptions(config === undefined ? args : withRunConfig(args, config.value));
    if (!opts.ok) return usageError(io, 'run', opts.error);
    // Options are validated before this, so a bad option is reported as such even now.
    if (runner === undefined) return notWired(io, 'run');
    const progress = createProgressReporter(io.tty, io.now);
    let result: ReturnType<HarnessRunner['run']>;
    try {
      result = runner.run(progress === undefined ? opts.value : { ...opts.value, progress: progress.update });
    } finally {
      progress?.done();
    }
    if (!result.ok) return usageError(io, 'run', result.error);
    const s = result.value;
    io.out(`${formatRunSummary(s).join('\n')}\n`);
    for (const path of s.traces) io.out(`violation trace: ${path}  (replay: npx sva-harness replay ${path})\n`);
    return s.platforms.some((p) => p.violations > 0) || s.traces.length > 0 ? EXIT_VIOLATION : EXIT_OK;
  },
};
