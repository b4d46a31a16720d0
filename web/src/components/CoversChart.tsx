import type { SlotCovers } from '../lib/stats';

/**
 * Covers per slot as vertical bars, with the capacity as a line across them when it is known.
 * Plain elements (no chart library): each bar is labelled for screen readers and tests.
 */
export function CoversChart({ slots, capacity, capacityLabel }: { slots: SlotCovers[]; capacity: number | null; capacityLabel: string }) {
  // Headroom above the capacity line so it and its label stay inside the chart.
  const top = Math.max((capacity ?? 0) * 1.2, ...slots.map((s) => s.covers), 1);
  const height = 160;
  return (
    <div className="overflow-x-auto" data-testid="covers-chart">
      <div className="relative flex items-end gap-1" style={{ height, minWidth: slots.length * 28 }}>
        {capacity !== null && (
          <div
            className="pointer-events-none absolute inset-x-0 border-t-2 border-dashed border-red-400"
            style={{ bottom: (capacity / top) * height }}
            data-testid="capacity-line"
          >
            <span className="absolute -top-4 right-0 bg-white px-1 text-xs text-red-600">
              {capacityLabel} {capacity}
            </span>
          </div>
        )}
        {slots.map((slot) => (
          <div key={slot.time} className="flex flex-1 flex-col items-center justify-end" style={{ height }}>
            {slot.covers > 0 && <span className="text-[10px] text-slate-600">{slot.covers}</span>}
            <div
              role="img"
              aria-label={`${slot.time}: ${slot.covers}`}
              data-slot={slot.time}
              data-covers={slot.covers}
              className={`w-full rounded-t ${capacity !== null && slot.covers > capacity ? 'bg-red-500' : 'bg-brand-500'}`}
              style={{ height: Math.max(1, (slot.covers / top) * (height - 14)) }}
            />
          </div>
        ))}
      </div>
      <div className="flex gap-1" style={{ minWidth: slots.length * 28 }}>
        {slots.map((slot) => (
          <span key={slot.time} className="flex-1 text-center text-[10px] text-slate-500">
            {slot.time.endsWith(':00') ? slot.time.slice(0, 2) : ''}
          </span>
        ))}
      </div>
    </div>
  );
}
