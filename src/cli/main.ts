import { harnessVersion, oneLine } from '../trace/index.js';
import { parseArgs, wantsHelp } from './args.js';
import { type CliCommand, type CliContext, commandHelp, usageError } from './command.js';
import { type CliIo, processIo } from './cliIo.js';
import { exportCommand } from './commands/export.js';
import { faultsCommand } from './commands/faults.js';
import { invariantsCommand } from './commands/invariants.js';
import { exploreCommand } from './commands/explore.js';
import { exploreSchedulesCommand } from './commands/exploreSchedules.js';
import { machinesCommand } from './commands/machines.js';
import { replayCommand } from './commands/replay.js';
import { runCommand } from './commands/run.js';
import { selfcheckCommand } from './commands/selfcheck.js';
import { showCommand } from './commands/show.js';
import { EXIT_INTERNAL, EXIT_OK, EXIT_USAGE } from './exit.js';
import { specMachineDiagrams } from './machines.js';
import type { HarnessExplorer, HarnessRunner } from '../harness/index.js';

export const COMMANDS: readonly CliCommand[] = [
  runCommand, exploreCommand, exploreSchedulesCommand, replayCommand, showCommand, machinesCommand, selfcheckCommand,
  exportCommand, faultsCommand, invariantsCommand,
];

const topHelp = (): string => {
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  return [
    'sva-harness: a property-testing harness for the Linux IOMMU SVA lifecycle',
    '',
    'usage: sva-harness <command> [options]      sva-harness <command> --help',
    '',
    'commands:',
    ...COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.title}`),
    '',
    'exit codes: 0 ok, 1 violation found or reproduced (selfcheck: a check failed),',
    '            2 bad usage or input, 70 internal error, 130/143 run stopped by SIGINT/SIGTERM',
    '',
  ].join('\n');
};

/**
 * The CLI. Returns the exit code; never throws: usage and input problems are one line and 2,
 * anything unexpected (a harness bug) is one line and 70, never a stack trace.
 */
export const main = async (argv: readonly string[], io: CliIo, ctx: Partial<Omit<CliContext, 'io'>> = {}): Promise<number> => {
  try {
    const context: CliContext = {
      io,
      runner: ctx.runner,
      ...(ctx.runnerModule === undefined ? {} : { runnerModule: ctx.runnerModule }),
      explorer: ctx.explorer,
      machines: ctx.machines ?? specMachineDiagrams,
    };
    const [name, ...rest] = argv;
    if (name === undefined) {
      io.err(topHelp());
      return EXIT_USAGE;
    }
    if (name === '--help' || name === '-h' || name === 'help') {
      io.out(topHelp());
      return EXIT_OK;
    }
    if (name === '--version') {
      io.out(`${harnessVersion()}\n`);
      return EXIT_OK;
    }
    const command = COMMANDS.find((c) => c.name === name);
    if (command === undefined) {
      io.err(`sva-harness: unknown command '${oneLine(name)}' (commands: ${COMMANDS.map((c) => c.name).join(', ')})\n`);
      return EXIT_USAGE;
    }
    if (wantsHelp(rest)) {
      io.out(commandHelp(command));
      return EXIT_OK;
    }
    const args = parseArgs(rest, command.options, command.positionals);
    if (!args.ok) return usageError(io, command.name, `${args.error} (see 'sva-harness ${command.name} --help')`);
    return await command.run(args.value, context);
  } catch (e) {
    // The first line of the message only: whatever follows is a stack or a dump.
    const what = e instanceof Error ? `${e.name}: ${e.message.split('\n')[0]}` : String(e).split('\n')[0];
    io.err(`sva-harness: internal error: ${oneLine(what ?? '').slice(0, 300)}\n`);
    return EXIT_INTERNAL;
  }
};

/**
 * The process entry: real argv and streams, exit code on the process. bin/sva-harness.mjs
 * passes the runner (models/), so the CLI never imports an implementation of the contract.
 */
export interface CliEntry {
  readonly runner: HarnessRunner;
  readonly explorer?: HarnessExplorer;
  /** URL of the runner's module, so `run` can load it in each supervised search thread. */
  readonly runnerModule?: string;
}

export const runCli = async ({ runner, explorer, runnerModule }: CliEntry): Promise<void> => {
  // `sva-harness show t.json | head`: a closed pipe is the reader's choice, not an error.
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  });
  const code = await main(process.argv.slice(2), processIo(), { runner, explorer, ...(runnerModule === undefined ? {} : { runnerModule }) });
  // Exit now: a search thread being terminated must not hold the process past the time bound.
  // Writes to pipes, files and terminals are synchronous on Linux, so nothing is lost.
  process.exit(code);
};
