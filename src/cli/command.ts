import { formatOptions, type OptionDef, type ParsedArgs } from './args.js';
import type { CliIo } from './cliIo.js';
import { EXIT_USAGE } from './exit.js';
import type { MachineDiagram } from './machines.js';
import type { HarnessExplorer, HarnessRunner } from '../harness/index.js';

/** What a subcommand may use; main builds it, tests inject their own. */
export interface CliContext {
  readonly io: CliIo;
  /** Injected by the entry point; undefined in tests that exercise only parsing. */
  readonly runner: HarnessRunner | undefined;
  /**
   * URL of the module exporting that runner: with it, `run` runs each search in a worker
   * thread under a watchdog (src/harness/supervise.ts); without it (tests), in-process.
   */
  readonly runnerModule?: string;
  /** Injected by the entry point, like the runner (src/explore implements it). */
  readonly explorer?: HarnessExplorer | undefined;
  readonly machines: () => Promise<readonly MachineDiagram[]>;
}

/** One `sva-harness <name>` subcommand: its help, its options and what it does. */
export interface CliCommand {
  readonly name: string;
  /** One line for the command list. */
  readonly title: string;
  /** The help page's description. */
  readonly summary: string;
  /** Positional arguments in order, as shown in help: `<trace>`. */
  readonly positionals: readonly string[];
  readonly options: readonly OptionDef[];
  /** Extra help lines after the options. */
  readonly notes: readonly string[];
  readonly run: (args: ParsedArgs, ctx: CliContext) => Promise<number> | number;
}

export const commandHelp = (c: CliCommand): string => {
  const lines = [
    `usage: sva-harness ${c.name}${c.positionals.map((p) => ` ${p}`).join('')}${c.options.length > 0 ? ' [options]' : ''}`,
    '',
    c.summary,
    '',
    'options:',
    ...formatOptions([...c.options, { name: 'help', help: 'show this help' }]),
  ];
  if (c.notes.length > 0) lines.push('', ...c.notes);
  return `${lines.join('\n')}\n`;
};

/** The one error line of a subcommand, and exit code 2. */
export const usageError = (io: CliIo, command: string, message: string): number => {
  io.err(`sva-harness ${command}: ${message}\n`);
  return EXIT_USAGE;
};

/** `run` and `replay` until models/ provides the runner. */
export const notWired = (io: CliIo, command: string): number =>
  usageError(io, command, "the harness runner is not wired yet (try 'sva-harness selfcheck' or 'sva-harness show <trace>')");
