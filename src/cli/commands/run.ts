import { FAULTS } from '../../shared/index.js';
import { type CliCommand, notWired, usageError } from '../command.js';
import type { CliContext } from '../command.js';
import { EXIT_OK, EXIT_SIGINT, EXIT_SIGTERM, EXIT_VIOLATION } from '../exit.js';
import { junitReport } from '../junit.js';
import { checkReportPath, prepareTracesDir, releaseTracesDir } from '../outputPaths.js';
import { createProgressReporter } from '../progress.js';
import { loadRunConfig, withRunConfig } from '../runConfig.js';
import { RUN_OPTIONS, type RunOutputOptions, toRunOptions, toRunOutputOptions } from '../runOptions.js';
import { runReport } from '../runReport.js';
import type { HarnessRunner, RunOptions, RunSummary } from '../../harness/index.js';
import { superviseRun } from '../../harness/supervise.js';
import { type Checked, serializeTrace, writeFileAtomic } from '../../trace/index.js';
import { formatRunSummary } from '../summary.js';

/**
 * The search itself: in worker threads under the watchdog when the entry point named the
 * runner's module (the real CLI), else in-process (tests with an injected runner).
 */
const search = async (runner: HarnessRunner, opts: RunOptions, out: RunOutputOptions, ctx: CliContext): Promise<Checked<RunSummary>> => {
  if (ctx.runnerModule === undefined) return runner.run(opts);
  const run = superviseRun(opts, { runnerModule: ctx.runnerModule, stepTimeoutMs: out.stepTimeoutMs, seed: opts.seed ?? runner.defaultSeed ?? 0 });
  const unsubscribe = ctx.io.onSignal?.((signal) => run.stop(signal));
  try {
    return await run.done;
  } finally {
    unsubscribe?.();
  }
};

const exitCodeOf = (s: RunSummary): number =>
  s.stopped === 'SIGINT' ? EXIT_SIGINT : s.stopped === 'SIGTERM' ? EXIT_SIGTERM
    : s.platforms.some((p) => p.violations > 0) || s.traces.length > 0 || (s.unwritten?.length ?? 0) > 0 ? EXIT_VIOLATION : EXIT_OK;

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
    'With --fault, a platform the fault does not apply to is skipped (--platform all, the default,',
    'runs only the fault\'s own); naming only such platforms is refused (exit 2).',
    'Each search runs in a worker thread under a watchdog: a step that runs longer than --step-timeout',
    'is an I-LOCKUP violation with the trace of its run so far; --time ends the run within 0.5 s of it',
    '(counted from the start of the process). SIGINT/SIGTERM stop the search and print the partial',
    'summary (seed, runs, steps, traces written); exit code 130/143.',
    'If the trace folder cannot take a trace, it goes to the system temp folder (sva-harness-traces/).',
    'Known upstream findings of the mainline port (docs/upstream-findings.md) are listed after the',
    'table and do not change the exit code; any other violation does. --fix NAME (or all) switches',
    'on a finding\'s proposed fix, after which that finding fails the run like any violation.',
    '--config FILE: e.g. {"platform": "vtd", "topology": "default", "seed": 7, "runs": 500, "fault": "B07"}.',
  ],
  run: async (args, ctx) => {
    const { io, runner } = ctx;
    const configPath = args.options.get('config');
    const config = typeof configPath === 'string' ? loadRunConfig(configPath) : undefined;
    if (config !== undefined && !config.ok) return usageError(io, 'run', config.error);
    const merged = config === undefined ? args : withRunConfig(args, config.value);
    const opts = toRunOptions(merged);
    if (!opts.ok) return usageError(io, 'run', opts.error);
    const out = toRunOutputOptions(merged);
    if (!out.ok) return usageError(io, 'run', out.error);
    // Options are validated before this, so a bad option is reported as such even now.
    if (runner === undefined) return notWired(io, 'run');
    if (out.value.junit !== undefined) {
      const junit = checkReportPath('junit', out.value.junit);
      if (!junit.ok) return usageError(io, 'run', junit.error);
    }
    const traces = prepareTracesDir(opts.value.tracesDir);
    if (!traces.ok) return usageError(io, 'run', traces.error);
    for (const note of traces.value.notes) io.err(`sva-harness run: ${note}\n`);

    const unreachable = FAULTS.find((f) => f.id === opts.value.fault)?.notRepresented;
    if (unreachable !== undefined) io.err(`sva-harness run: note: ${opts.value.fault} is not represented (${unreachable}): the search cannot find it\n`);
    const progress = createProgressReporter(io.tty, io.now);
    let result: Checked<RunSummary>;
    try {
      result = await search(runner, progress === undefined ? opts.value : { ...opts.value, progress: progress.update }, out.value, ctx);
    } finally {
      progress?.done();
      releaseTracesDir(traces.value);
    }
    if (!result.ok) return usageError(io, 'run', result.error);
    const s = result.value;
    const code = exitCodeOf(s);
    const notes = s.notes ?? [];
    for (const note of notes) io.err(`sva-harness run: ${note}\n`);
    const report = runReport(opts.value, s, notes, code);
    if (out.value.json) io.out(`${JSON.stringify(report, null, 2)}\n`);
    else {
      if (s.stopped !== undefined) io.out(`run stopped (${s.stopped === 'time' ? 'the --time bound was reached mid-step' : s.stopped}): partial results\n`);
      io.out(`${formatRunSummary(s).join('\n')}\n`);
      for (const path of s.traces) io.out(`violation trace: ${path}  (replay: npx sva-harness replay ${path})\n`);
    }
    // Written nowhere: the finding itself goes to stdout rather than being lost (with --json,
    // inside the document, so stdout stays one JSON document).
    if (!out.value.json) for (const t of s.unwritten ?? []) io.out(`violation trace (not saved):\n${serializeTrace(t)}`);
    if (out.value.junit !== undefined) {
      const w = writeFileAtomic(out.value.junit, junitReport(report));
      if (!w.ok) io.err(`sva-harness run: ${w.error}\n`);
    }
    return code;
  },
};
