import { describe, expect, it } from 'vitest';
import { ApiError } from '../api/fetcher';
import { matchesName, placeError } from './forms';

describe('placeError', () => {
  it('puts a refusal next to the field the server blamed', () => {
    const placed = placeError(new ApiError(409, 'Himalayan Kitchen is closed on Mondays', 'date'), ['date', 'time']);
    expect(placed).toEqual({ byField: { date: 'Himalayan Kitchen is closed on Mondays' }, general: null });
  });

  it('shows an error about no known field for the whole form', () => {
    expect(placeError(new ApiError(404, 'unknown business', 'business_id'), ['date']).general).toBe('unknown business');
    expect(placeError(new Error('network down'), ['date']).general).toBe('network down');
    expect(placeError(null, ['date'])).toEqual({ byField: {}, general: null });
  });
});

describe('matchesName', () => {
  it('matches part of a name in any case', () => {
    expect(matchesName('Asha Verma', 'verm')).toBe(true);
    expect(matchesName(null, 'a')).toBe(false);
    expect(matchesName(null, ' ')).toBe(true);
  });
});
