/**
 * The fast-check side of one run: the model every command reads (the session; the spec state
 * in it is what `check` consults) and the one `fc.Command` shape all kinds share.
 */
import type fc from 'fast-check';
import { type Session, checkedStep } from '../src/harness/index.js';
import type { Command } from '../src/shared/index.js';
import { precondition } from '../src/spec/index.js';
import { formatCommand } from '../src/trace/index.js';
import type { TraceViolation } from '../src/trace/index.js';
import type { RunStats } from './stats.js';

/** Model and real system are one object: the session steps both sides itself. */
export interface Model {
  readonly session: Session;
  /** Shared by every run of a property: counts checks, executions and kinds. */
  readonly stats: RunStats;
}

/** Thrown by `run` so fast-check records the failure and shrinks the sequence. */
export class ViolationError extends Error {
  constructor(readonly violation: TraceViolation) {
    super(`${violation.invariant} at step #${violation.step}: ${violation.message}`);
    this.name = 'ViolationError';
  }
}

/**
 * One generated command (fast-check ICommand): `check` is the spec's precondition and only
 * reads; `run` is the checked step and throws on a violation; `toString` is a replayable call.
 */
export class SvaCommand implements fc.Command<Model, Model> {
  constructor(readonly cmd: Command) {}

  check(m: Readonly<Model>): boolean {
    // A known upstream finding that made spec and kernel part ways ends the run, unfailed.
    if (m.session.ended) return false;
    const legal = precondition(m.session.spec, this.cmd);
    m.stats.noteCheck(this.cmd.kind, legal);
    return legal;
  }

  run(m: Model): void {
    m.stats.noteRun(this.cmd.kind);
    if (checkedStep(m.session, this.cmd).length > 0) throw new ViolationError(m.session.violation!);
  }

  toString(): string {
    return formatCommand(this.cmd);
  }
}
