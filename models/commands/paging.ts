/**
 * The iommufd paging-domain commands: attachPasid / detachPasid of HWPT h on a device's group,
 * iommuMap / iommuUnmap of one IOVA page, dmaIova through the attached PASID. PASIDs are drawn
 * from the low end (where SVA's global IDA allocates too: collisions are -EBUSY both ways) and
 * the top of small devices' ranges (so -EINVAL on a narrower group member is reached).
 */
import fc from 'fast-check';
import { IOVA_PAGES, MAX_HWPTS, PAGING_HWPTS, type Topology } from '../../src/shared/index.js';
import { devId } from '../ids.js';
import { SvaCommand } from '../model.js';

const hwptId = fc.integer({ min: 0, max: MAX_HWPTS - 1 });
/** HWPTs with a host page table (the nested one's is the guest's: guestMap/guestUnmap). */
const pagingHwptId = fc.integer({ min: 0, max: PAGING_HWPTS - 1 });
const iovaPage = fc.integer({ min: 0, max: IOVA_PAGES - 1 });
const pasidId = fc.oneof({ weight: 3, arbitrary: fc.integer({ min: 1, max: 4 }) }, { weight: 1, arbitrary: fc.integer({ min: 5, max: 16 }) });

export const attachPasidCommand = (t: Topology): fc.Arbitrary<SvaCommand> =>
  fc.tuple(devId(t), hwptId, pasidId).map(([dev, hwpt, pasid]) => new SvaCommand({ kind: 'attachPasid', dev, hwpt, pasid }));

export const detachPasidCommand = (t: Topology): fc.Arbitrary<SvaCommand> =>
  fc.tuple(devId(t), hwptId).map(([dev, hwpt]) => new SvaCommand({ kind: 'detachPasid', dev, hwpt }));

export const iommuMapCommand = (_t: Topology): fc.Arbitrary<SvaCommand> =>
  fc.tuple(pagingHwptId, iovaPage, fc.boolean()).map(([hwpt, page, write]) => new SvaCommand({ kind: 'iommuMap', hwpt, page, write }));

export const iommuUnmapCommand = (_t: Topology): fc.Arbitrary<SvaCommand> =>
  fc.tuple(pagingHwptId, iovaPage).map(([hwpt, page]) => new SvaCommand({ kind: 'iommuUnmap', hwpt, page }));

/** The guest's stage-1 leaf of the nested HWPT: IOVA page → GPA page (the parent's IOVA page). */
export const guestMapCommand = (_t: Topology): fc.Arbitrary<SvaCommand> =>
  fc.tuple(iovaPage, iovaPage, fc.boolean()).map(([page, gpa, write]) => new SvaCommand({ kind: 'guestMap', page, gpa, write }));

export const guestUnmapCommand = (_t: Topology): fc.Arbitrary<SvaCommand> =>
  iovaPage.map((page) => new SvaCommand({ kind: 'guestUnmap', page }));

/** IOMMU_DESTROY of a HWPT (legal only while it is allocated). */
export const destroyHwptCommand = (_t: Topology): fc.Arbitrary<SvaCommand> =>
  hwptId.map((hwpt) => new SvaCommand({ kind: 'destroyHwpt', hwpt }));

export const dmaIovaCommand = (t: Topology): fc.Arbitrary<SvaCommand> =>
  fc.tuple(devId(t), hwptId, iovaPage, fc.boolean()).map(([dev, hwpt, page, write]) => new SvaCommand({ kind: 'dmaIova', dev, hwpt, page, write }));

/** dmaPasid at a small PASID (where the attach PASIDs and SVA's first PASIDs are). */
export const dmaPasidCommand = (t: Topology): fc.Arbitrary<SvaCommand> =>
  fc.tuple(devId(t), fc.integer({ min: 1, max: 8 }), fc.integer({ min: 0, max: t.pages - 1 }), fc.boolean())
    .map(([dev, pasid, page, write]) => new SvaCommand({ kind: 'dmaPasid', dev, pasid, page, write }));

export const replacePasidCommand = (t: Topology): fc.Arbitrary<SvaCommand> =>
  fc.tuple(devId(t), hwptId).map(([dev, hwpt]) => new SvaCommand({ kind: 'replacePasid', dev, hwpt, from: (hwpt + 1) % MAX_HWPTS }));
