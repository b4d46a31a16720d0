/**
 * The business the admin is looking at, chosen in the header and shared by every page.
 * The list comes from `GET /health/config` (every configured business, live or rejected).
 */
import { createContext, useContext } from 'react';

export interface BusinessChoice {
  /** Every configured business id. */
  ids: string[];
  /** The chosen one ('' while the list loads). */
  current: string;
  choose: (id: string) => void;
}

export const BusinessContext = createContext<BusinessChoice>({ ids: [], current: '', choose: () => {} });

export function useBusiness(): BusinessChoice {
  return useContext(BusinessContext);
}
