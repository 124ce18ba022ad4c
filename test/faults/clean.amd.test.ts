import { describe } from 'vitest';
import { cleanUnderFaultBudget } from './clean.js';

describe('The correct impl on amd', () => cleanUnderFaultBudget('amd'));
