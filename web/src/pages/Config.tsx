import { useGetHealthConfig } from '../api/generated/client';
import { Badge, Card, ErrorText } from '../components/ui';
import { useBusiness } from '../lib/business';
import { useT } from '../lib/i18n';

/** Each business's live configuration version and, when an edit was refused, why and where. */
export function ConfigPage() {
  const t = useT();
  const { current } = useBusiness();
  const health = useGetHealthConfig({ query: { refetchInterval: 5_000 } });
  const business = health.data?.businesses.find((b) => b.id === current);
  return (
    <div className="flex flex-col gap-3">
      <ErrorText error={health.error} />
      {business && (
        <Card title={`${t('config')}: ${business.id}`}>
          <p className="text-sm">
            {business.live ? (
              <>
                <Badge tone="green">live</Badge> version <code>{business.live.version.slice(0, 12)}</code> since {new Date(business.live.loaded_at).toLocaleString()}
              </>
            ) : (
              <Badge tone="red">not live</Badge>
            )}
          </p>
          {business.last_rejected && (
            <div className="mt-3" data-testid="rejected-edit">
              <p className="text-sm font-medium text-red-800">The last edit was refused ({new Date(business.last_rejected.at).toLocaleString()}); the version above keeps answering calls.</p>
              <ul className="mt-1 list-disc pl-5 text-sm">
                {business.last_rejected.errors.map((d, i) => (
                  <li key={i}>
                    <code>
                      {d.file}
                      {d.line ? `:${d.line}` : ''}
                      {d.column ? `:${d.column}` : ''}
                    </code>{' '}
                    {d.message}
                  </li>
                ))}
              </ul>
            </div>
          )}
          {(business.warnings ?? []).length > 0 && (
            <ul className="mt-3 list-disc pl-5 text-sm text-amber-800">
              {(business.warnings ?? []).map((d, i) => (
                <li key={i}>
                  <code>{d.file}{d.line ? `:${d.line}` : ''}</code> {d.message}
                </li>
              ))}
            </ul>
          )}
        </Card>
      )}
    </div>
  );
}
