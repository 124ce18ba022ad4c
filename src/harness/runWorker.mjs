// The entry of a supervised search thread (supervise.ts): TypeScript through tsx, as the CLI's
// own entry does, then the worker body.
import { register } from 'tsx/esm/api';

register();
await import(new URL('./runWorkerMain.ts', import.meta.url).href);
