/**
 * I-SPLAT No kernel splat: a correct kernel never WARNs, never has lockdep report a possible
 * deadlock and never sleeps in atomic context. The ported code records each of these in the
 * core's kernel log (src/impl/core/kernel.ts: warn) where the kernel would print a splat; any
 * entry is a violation at the step that produced it.
 */
import { coreOf } from '../../src/impl/index.js';
import type { CheckContext, Invariant, Violation } from '../invariant.js';
import { Findings, NO_VIOLATIONS } from './scan.js';

const findings = new Findings('I-SPLAT');

function check({ world }: CheckContext): readonly Violation[] {
  const log = coreOf(world.kernel).warnings;
  if (log.length === 0) return NO_VIOLATIONS;
  const f = findings.begin();
  for (const what of log) f.add({}, `kernel splat: ${what}`);
  return f.done();
}

export const kernelLog: Invariant = {
  id: 'I-SPLAT',
  title: 'No kernel splat: no WARN, lockdep report or sleep in atomic context',
  kernelRule: 'WARN_ON, lockdep\'s "possible circular locking dependency" and might_sleep\'s "sleeping function called from invalid context" each mean the kernel broke a rule it states in code.',
  source: 'include/asm-generic/bug.h: WARN_ON; kernel/locking/lockdep.c; kernel/sched/core.c: __might_sleep (v6.17)',
  check,
};
