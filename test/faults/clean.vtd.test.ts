import { describe } from 'vitest';
import { cleanUnderFaultBudget } from './clean.js';

describe('The correct impl on vtd', () => cleanUnderFaultBudget('vtd'));
