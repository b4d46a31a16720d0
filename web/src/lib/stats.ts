/**
 * Pure arithmetic behind the dashboard: covers seated per slot (against capacity) and turn
 * latency percentiles. Kept free of React and fetching so Vitest checks it directly.
 */

/** What a reservation contributes to the chart. */
export interface Booking {
  reservation_time: string;
  party_size: number;
  status: string;
}

export interface SlotCovers {
  /** Slot start, HH:MM. */
  time: string;
  /** Covers whose hold overlaps the slot's start. */
  covers: number;
}

export function minutesOf(hhmm: string): number {
  const [h, m] = hhmm.split(':').map(Number);
  return (h ?? 0) * 60 + (m ?? 0);
}

export function hhmm(minutes: number): string {
  const h = Math.floor(minutes / 60);
  const m = minutes % 60;
  return `${String(h).padStart(2, '0')}:${String(m).padStart(2, '0')}`;
}

/**
 * Covers at each slot of a day: a confirmed booking holds its table for `holdMinutes` from its
 * time, as the booking rules count capacity ("covers whose holds overlap, at any moment").
 * Slots run every `slotMinutes` from `from` to `to`, widened to include every booking.
 */
export function coversPerSlot(
  bookings: Booking[],
  { slotMinutes = 30, holdMinutes = 90, from = '12:00', to = '22:30' }: { slotMinutes?: number; holdMinutes?: number; from?: string; to?: string } = {},
): SlotCovers[] {
  const live = bookings.filter((b) => b.status === 'confirmed' || b.status === 'completed');
  let start = minutesOf(from);
  let end = minutesOf(to);
  for (const b of live) {
    const t = minutesOf(b.reservation_time);
    start = Math.min(start, t - (t % slotMinutes));
    end = Math.max(end, t);
  }
  const slots: SlotCovers[] = [];
  for (let t = start; t <= end; t += slotMinutes) {
    const covers = live
      .filter((b) => {
        const begins = minutesOf(b.reservation_time);
        return begins <= t && t < begins + holdMinutes;
      })
      .reduce((sum, b) => sum + b.party_size, 0);
    slots.push({ time: hhmm(t), covers });
  }
  return slots;
}

/** The p-th percentile (0–100) by nearest rank; `null` for no values. */
export function percentile(values: number[], p: number): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1] ?? null;
}

/** YYYY-MM-DD of `date` in the browser's time zone. */
export function isoDay(date: Date): string {
  const y = date.getFullYear();
  const m = String(date.getMonth() + 1).padStart(2, '0');
  const d = String(date.getDate()).padStart(2, '0');
  return `${y}-${m}-${d}`;
}
