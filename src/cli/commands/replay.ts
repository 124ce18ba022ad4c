import { formatTimeline, loadTrace } from '../../trace/index.js';
import type { Trace, TraceViolation } from '../../trace/index.js';
import { formatStateDiff, relevantStateDiff, violationBlock } from '../../view/index.js';
import { type CliCommand, notWired, usageError } from '../command.js';
import { EXIT_OK, EXIT_VIOLATION } from '../exit.js';
import { fixedRun } from '../fixedRun.js';

const describe = (v: TraceViolation | undefined): string => (v === undefined ? 'no violation' : `${v.invariant} at step #${v.step}`);

export const replayCommand: CliCommand = {
  name: 'replay',
  title: "re-execute a saved trace and show where it fails",
  summary: "Re-execute a saved trace's commands deterministically (no fast-check) and show the\n" +
    'timeline step by step, the violation with the kernel rule it breaks, and the state diff at\n' +
    'the failing step. With a fault on, the failing step\'s hardware commands are shown beside\n' +
    'those of the fixed kernel (the same commands replayed with the fault off).',
  positionals: ['<trace>'],
  options: [{ name: 'quiet', help: 'print only the violation, the state diff and the outcome, not the timeline' }],
  notes: ['Exit code 1 when a violation occurs on replay, 0 when the commands run clean.'],
  run: (args, { io, runner }) => {
    const path = args.positionals[0]!;
    const loaded = loadTrace(path);
    if (!loaded.ok) return usageError(io, 'replay', loaded.error);
    if (runner === undefined) return notWired(io, 'replay');
    const result = runner.replay(loaded.value);
    // The runner's errors name a step or a fault, not the file: every replay error names it.
    if (!result.ok) return usageError(io, 'replay', `${path}: ${result.error}`);
    const { trace, stateBefore, stateAfter } = result.value;
    if (args.options.get('quiet') !== true) io.out(formatTimeline(trace));
    const now = trace.violation;
    if (now !== undefined) io.out(`\n${violationBlock(trace, fixedRun(runner, trace)).join('\n')}\n\n`);
    if (now !== undefined && (stateBefore !== undefined || stateAfter !== undefined)) {
      io.out(formatStateDiff(now.step, relevantStateDiff(trace as Trace, stateBefore, stateAfter)));
    }
    const recorded = loaded.value.violation;
    const same = recorded !== undefined && now !== undefined && recorded.invariant === now.invariant && recorded.step === now.step;
    // A known finding shown only because the run with findings excused was clean: say so when
    // it is not the recorded violation (a trace an oracle mend has since fixed).
    const excused = result.value.excusedClean === true && !same ? '; with known findings excused it replays clean' : '';
    const outcome = now === undefined
      ? `replay: no violation${recorded === undefined ? '' : ` (recorded: ${describe(recorded)}: not reproduced)`}`
      : `replay: violation ${describe(now)}${same ? ' (reproduced as recorded)' : ` (recorded: ${describe(recorded)}${excused})`}`;
    io.out(`${outcome}\n`);
    return now === undefined ? EXIT_OK : EXIT_VIOLATION;
  },
};
