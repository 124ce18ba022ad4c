/**
 * Every command kind's arbitrary for one topology, combined by weight into the one arbitrary
 * `fc.commands` draws from. Kinds that cannot be legal in the topology (fork with one slot,
 * vmalloc without kernel pages) are left out rather than generated and filtered.
 */
import fc from 'fast-check';
import type { CommandKind, Topology } from '../../src/shared/index.js';
import type { SvaCommand } from '../model.js';
import { DEFAULT_WEIGHTS, type Weights } from '../weights.js';
import { bindCommand } from './bind.js';
import { dmaCommand } from './dma.js';
import { exitCommand } from './exit.js';
import { failNextCommand } from './failNext.js';
import { failNthCommand } from './failNth.js';
import { forkCommand } from './fork.js';
import { gracePeriodCommand } from './gracePeriod.js';
import { serviceFaultsCommand } from './serviceFaults.js';
import { mmapCommand } from './mmap.js';
import { mmdropCommand } from './mmdrop.js';
import { mprotectCommand } from './mprotect.js';
import { munmapCommand } from './munmap.js';
import { prefetchCommand } from './prefetch.js';
import { prefetchKernelCommand } from './prefetchKernel.js';
import { prgCommand } from './prg.js';
import { stopMarkerCommand } from './stopMarker.js';
import { unplugCommand } from './unplug.js';
import { spawnCommand } from './spawn.js';
import { touchCommand } from './touch.js';
import { unbindCommand } from './unbind.js';
import { vfreeCommand } from './vfree.js';
import { vmallocCommand } from './vmalloc.js';
import { migrateCommand } from './migrate.js';
import { possibleKind } from '../../src/harness/enabled.js';
import {
  attachPasidCommand, destroyHwptCommand, detachPasidCommand, dmaIovaCommand, dmaPasidCommand, guestMapCommand, guestUnmapCommand, iommuMapCommand,
  iommuUnmapCommand, replacePasidCommand,
} from './paging.js';

const BUILDERS: Readonly<Record<CommandKind, (t: Topology) => fc.Arbitrary<SvaCommand>>> = {
  bind: bindCommand,
  unbind: unbindCommand,
  mmap: mmapCommand,
  touch: touchCommand,
  munmap: munmapCommand,
  mprotect: mprotectCommand,
  dma: dmaCommand,
  prefetch: prefetchCommand,
  exit: exitCommand,
  mmdrop: mmdropCommand,
  fork: forkCommand,
  spawn: spawnCommand,
  gracePeriod: gracePeriodCommand,
  vmalloc: vmallocCommand,
  vfree: vfreeCommand,
  failNext: failNextCommand,
  serviceFaults: serviceFaultsCommand,
  prefetchKernel: prefetchKernelCommand,
  unplug: unplugCommand,
  failNth: failNthCommand,
  prg: prgCommand,
  attachPasid: attachPasidCommand,
  detachPasid: detachPasidCommand,
  iommuMap: iommuMapCommand,
  iommuUnmap: iommuUnmapCommand,
  dmaIova: dmaIovaCommand,
  migrate: migrateCommand,
  replacePasid: replacePasidCommand,
  dmaPasid: dmaPasidCommand,
  stopMarker: stopMarkerCommand,
  guestMap: guestMapCommand,
  guestUnmap: guestUnmapCommand,
  destroyHwpt: destroyHwptCommand,
};

/** One weighted arbitrary over every kind that can be legal in `t`. */
export const svaCommand = (t: Topology, weights: Weights = DEFAULT_WEIGHTS): fc.Arbitrary<SvaCommand> => {
  const arms = (Object.keys(BUILDERS) as CommandKind[])
    .filter((k) => weights[k] > 0 && possibleKind(k, t))
    .map((k) => ({ weight: weights[k], arbitrary: BUILDERS[k](t) }));
  return fc.oneof(...arms);
};
