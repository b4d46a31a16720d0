import { lazy, Suspense, useEffect, useState, useSyncExternalStore } from 'react';
import { NavLink, Navigate, Route, Routes } from 'react-router';
import { useQueryClient } from '@tanstack/react-query';
import { useGetHealthConfig } from './api/generated/client';
import { currentToken, endSession, onSessionChange } from './lib/session';
import { BusinessContext } from './lib/business';
import { LanguageContext, label, type UiLanguage, type LabelKey } from './lib/i18n';
import { useBusinessFacts } from './lib/facts';
import { LoginPage } from './pages/Login';
import { DashboardPage } from './pages/Dashboard';
import { ReservationsPage } from './pages/Reservations';
import { CallsPage, CallPage } from './pages/Calls';
import { TryItPage } from './pages/TryIt';
import { ReviewsPage } from './pages/Reviews';

// The config editor (CodeMirror) loads only when opened, keeping the first load small on a phone.
const ConfigPage = lazy(() => import('./pages/Config').then((m) => ({ default: m.ConfigPage })));

function useToken(): string | null {
  return useSyncExternalStore(onSessionChange, currentToken, () => null);
}

export function App() {
  const token = useToken();
  if (!token) return <LoginPage />;
  return <Shell />;
}

const pages: { to: string; key: LabelKey }[] = [
  { to: '/', key: 'dashboard' },
  { to: '/reservations', key: 'reservations' },
  { to: '/calls', key: 'calls' },
  { to: '/reviews', key: 'reviews' },
  { to: '/config', key: 'config' },
  { to: '/try', key: 'tryIt' },
];

const BUSINESS_KEY = 'vartalaap.admin.business';

function Shell() {
  const queryClient = useQueryClient();
  const health = useGetHealthConfig();
  const ids = health.data?.businesses.map((b) => b.id) ?? [];
  const [chosen, setChosen] = useState<string>(() => sessionStorage.getItem(BUSINESS_KEY) ?? '');
  const current = ids.includes(chosen) ? chosen : (ids[0] ?? '');
  const facts = useBusinessFacts(current);
  const [languageOverride, setLanguageOverride] = useState<UiLanguage | null>(null);
  const language: UiLanguage = languageOverride ?? (facts.defaultLanguage === 'hi' ? 'hi' : 'en');
  useEffect(() => {
    document.documentElement.lang = language;
  }, [language]);

  const choose = (id: string) => {
    sessionStorage.setItem(BUSINESS_KEY, id);
    setChosen(id);
    setLanguageOverride(null);
  };
  const logout = () => {
    endSession();
    queryClient.clear();
  };

  return (
    <LanguageContext.Provider value={language}>
      <BusinessContext.Provider value={{ ids, current, choose }}>
        <div className="min-h-screen">
          <header className="border-b border-slate-200 bg-white">
            <div className="mx-auto flex max-w-6xl flex-wrap items-center gap-2 px-3 py-2">
              <span className="font-semibold text-brand-700">Vartalaap</span>
              <label className="sr-only" htmlFor="business-picker">
                {label('business', language)}
              </label>
              <select
                id="business-picker"
                className="min-h-9 rounded-md border border-slate-300 px-2 text-sm"
                value={current}
                onChange={(e) => choose(e.target.value)}
              >
                {ids.map((id) => (
                  <option key={id} value={id}>
                    {id}
                  </option>
                ))}
              </select>
              <div className="ml-auto flex items-center gap-2">
                <button
                  type="button"
                  className="rounded px-2 py-1 text-sm text-slate-600 hover:bg-slate-100"
                  onClick={() => setLanguageOverride(language === 'hi' ? 'en' : 'hi')}
                  aria-label="Switch label language"
                >
                  {language === 'hi' ? 'English' : 'हिन्दी'}
                </button>
                <button type="button" className="rounded px-2 py-1 text-sm text-slate-600 hover:bg-slate-100" onClick={logout}>
                  {label('logout', language)}
                </button>
              </div>
            </div>
            <nav className="mx-auto flex max-w-6xl gap-1 overflow-x-auto px-3 pb-2" aria-label="Pages">
              {pages.map((p) => (
                <NavLink
                  key={p.to}
                  to={p.to}
                  end={p.to === '/'}
                  className={({ isActive }) =>
                    `whitespace-nowrap rounded-md px-3 py-1.5 text-sm ${isActive ? 'bg-brand-600 text-white' : 'text-slate-700 hover:bg-slate-100'}`
                  }
                >
                  {label(p.key, language)}
                </NavLink>
              ))}
            </nav>
          </header>
          <main className="mx-auto max-w-6xl p-3">
            <Routes>
              <Route path="/" element={<DashboardPage facts={facts} />} />
              <Route path="/reservations" element={<ReservationsPage />} />
              <Route path="/calls" element={<CallsPage />} />
              <Route path="/calls/:id" element={<CallPage />} />
              <Route path="/reviews" element={<ReviewsPage />} />
              <Route path="/config" element={<Suspense fallback={<p className="text-sm text-slate-500">{label('loading', language)}</p>}><ConfigPage /></Suspense>} />
              <Route path="/try" element={<TryItPage />} />
              <Route path="*" element={<Navigate to="/" replace />} />
            </Routes>
          </main>
        </div>
      </BusinessContext.Provider>
    </LanguageContext.Provider>
  );
}
