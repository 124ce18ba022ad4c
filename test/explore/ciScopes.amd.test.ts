import { describe, test } from 'vitest';
import { CI_SCOPE_TEST, checkCiScope } from './ciScope.js';

describe('CI explore scope: the state space of the platform is what was recorded', () => {
  test(`amd: ${CI_SCOPE_TEST}`, () => checkCiScope('amd'));
});
