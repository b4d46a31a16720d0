/**
 * What the admin needs to know about a business beyond its id: its default language (Hindi
 * labels for a Hindi-first business) and its booking limits (the dashboard's capacity line),
 * from `GET /api/businesses` — the live configuration that answers calls.
 */
import { useGetApiBusinesses } from '../api/generated/client';

export interface BusinessFacts {
  /** `null` while loading or for an unknown business. */
  defaultLanguage: string | null;
  capacity: number | null;
  slotMinutes: number;
  holdMinutes: number;
}

/** Until the business is known: no language preference, no capacity line, the usual grid. */
export const UNKNOWN_FACTS: BusinessFacts = { defaultLanguage: null, capacity: null, slotMinutes: 30, holdMinutes: 90 };

export function useBusinessFacts(businessId: string): BusinessFacts {
  const businesses = useGetApiBusinesses();
  const business = businesses.data?.items.find((b) => b.id === businessId);
  if (!business) return UNKNOWN_FACTS;
  return {
    defaultLanguage: business.languages.default,
    capacity: business.reservations.capacity,
    slotMinutes: business.reservations.slot_minutes,
    holdMinutes: business.reservations.hold_minutes,
  };
}
