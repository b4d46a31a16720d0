/**
 * What the admin needs to know about a business beyond its id: its default language (for
 * Hindi labels) and its booking capacity (for the dashboard chart). Until the API describes a
 * business's configuration, these are unknown and the admin says so instead of guessing.
 */
export interface BusinessFacts {
  defaultLanguage: string | null;
  capacity: number | null;
  slotMinutes: number;
  holdMinutes: number;
}

export const UNKNOWN_FACTS: BusinessFacts = { defaultLanguage: null, capacity: null, slotMinutes: 30, holdMinutes: 90 };

export function useBusinessFacts(businessId: string): BusinessFacts {
  void businessId;
  return UNKNOWN_FACTS;
}
