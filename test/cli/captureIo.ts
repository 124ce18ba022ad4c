import type { CliIo } from '../../src/cli/cliIo.js';
import { main } from '../../src/cli/main.js';
import type { CliContext } from '../../src/cli/command.js';

export interface Captured {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
  /** stderr split into lines, without the final empty one. */
  readonly errLines: string[];
}

/** Runs `main` in-process with captured output; no runner unless one is given. */
export const runMain = async (argv: string[], ctx: Partial<Omit<CliContext, 'io'>> = {}, tty?: CliIo['tty']): Promise<Captured> => {
  let stdout = '';
  let stderr = '';
  const io: CliIo = { out: (t) => void (stdout += t), err: (t) => void (stderr += t), tty, now: () => 0 };
  const code = await main(argv, io, { runner: undefined, ...ctx });
  return { code, stdout, stderr, errLines: stderr.split('\n').filter((l, i, a) => !(l === '' && i === a.length - 1)) };
};
