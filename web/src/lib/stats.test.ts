import { describe, expect, it } from 'vitest';
import { coversPerSlot, percentile } from './stats';

describe('coversPerSlot', () => {
  it('counts a booking in every slot its 90-minute hold overlaps', () => {
    const slots = coversPerSlot(
      [
        { reservation_time: '19:00', party_size: 4, status: 'confirmed' },
        { reservation_time: '20:00', party_size: 2, status: 'confirmed' },
        { reservation_time: '19:30', party_size: 6, status: 'cancelled' },
      ],
      { from: '19:00', to: '21:30' },
    );
    const at = Object.fromEntries(slots.map((s) => [s.time, s.covers]));
    expect(at).toEqual({ '19:00': 4, '19:30': 4, '20:00': 6, '20:30': 2, '21:00': 2, '21:30': 0 });
  });

  it('widens the day to include a booking outside the default range', () => {
    const slots = coversPerSlot([{ reservation_time: '11:15', party_size: 3, status: 'confirmed' }], { from: '12:00', to: '12:00' });
    expect(slots[0]).toEqual({ time: '11:00', covers: 0 });
    expect(slots.find((s) => s.time === '11:30')?.covers).toBe(3);
  });
});

describe('percentile', () => {
  it('uses the nearest rank', () => {
    expect(percentile([], 50)).toBeNull();
    expect(percentile([300, 100, 200, 400], 50)).toBe(200);
    expect(percentile([300, 100, 200, 400], 95)).toBe(400);
  });
});
