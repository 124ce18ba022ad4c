/**
 * The plain op wrappers of the conversion (each marked BRIDGE(ops) where it is used) carry
 * the name of the C function they wrap: the ops tracer (src/harness/traceOps.ts) prints an op
 * by its function's name, so a trace keeps saying "arm_smmu_sva_set_dev_pasid" and stays
 * byte-identical. The integrator drops these wrappers when ops.ts takes generators.
 */
export function named<F extends (...args: never[]) => unknown>(name: string, fn: F): F {
  Object.defineProperty(fn, 'name', { value: name });
  return fn;
}
