/**
 * Linearization points of a command, for the concurrent oracle (src/harness/group.ts): most
 * commands take effect at one point; a replace on a platform whose mainline has a window
 * (paging.ts replaceHasWindow) takes effect at two, the old entry's teardown and the new
 * entry's setup, and a device access linearized between them sees no present entry.
 */
import type { Command, Observation } from '../shared/index.js';
import { replaceHasWindow, replaceSetup, replaceTeardown } from './paging.js';
import type { SpecState } from './state.js';
import { specStep } from './step.js';

/** How many linearization points `cmd` has: 1 or 2. */
export const linPoints = (s: SpecState, cmd: Command): number =>
  cmd.kind === 'replacePasid' && replaceHasWindow(s.t.topology.platform) ? 2 : 1;

/**
 * Point `point` of `cmd` (the caller checked the precondition before point 0): the command's
 * observation, or undefined when it goes on at its next point. A two-point command is never
 * in a group with an injection armed (groupLegal), so its points skip specStep's injection
 * bookkeeping; one point, or both back to back, is exactly specStep.
 */
export const specPoint = (s: SpecState, cmd: Command, point: number): Observation | undefined => {
  if (cmd.kind !== 'replacePasid' || linPoints(s, cmd) === 1) return specStep(s, cmd);
  return point === 0 ? replaceTeardown(s, cmd.dev, cmd.hwpt, cmd.from) : replaceSetup(s, cmd.dev, cmd.hwpt);
};
