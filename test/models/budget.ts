/**
 * The model suites' run budgets. Each suite names its soak budget (what `npm test` ran until
 * the suite outgrew its time: 1,850 random-topology runs, 920 on the default topology); `npm
 * test` runs half of it, the first half of the same runs (fast-check's run i depends only on
 * the seed and i), and `npm run test:soak` (SVA_SOAK=1) all of it, or SVA_SOAK=k times it. A
 * suite's assertions on what the runs reached (every kind, run lengths) hold at either size.
 */
export const soakFactor = (env: NodeJS.ProcessEnv = process.env): number | undefined => {
  const raw = env['SVA_SOAK'];
  if (raw === undefined || raw === '') return undefined;
  const k = Number(raw);
  if (!Number.isInteger(k) || k < 1 || k > 1000) throw new Error(`SVA_SOAK must be a whole number from 1 to 1000, got '${raw}'`);
  return k;
};

export const suiteRuns = (soakRuns: number, env: NodeJS.ProcessEnv = process.env): number => {
  const k = soakFactor(env);
  return k === undefined ? Math.ceil(soakRuns / 2) : soakRuns * k;
};
