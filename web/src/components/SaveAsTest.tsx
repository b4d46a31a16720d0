/**
 * "Save as test" on a call's page: the call becomes a dialogue file that `vartalaap test`
 * replays (`POST /api/calls/{id}/test`), so a call that went wrong becomes a regression test
 * in one step. Shows where the server wrote it and the file itself, or the server's refusal
 * (a name already taken, an unusable name) next to the name field.
 */
import { useState } from 'react';
import { usePostApiCallsIdTest } from '../api/generated/client';
import { ApiError } from '../api/fetcher';
import { Button, Card, ErrorText, Field, TextInput } from './ui';
import { useT } from '../lib/i18n';

export function SaveAsTest({ callId }: { callId: number }) {
  const t = useT();
  const [name, setName] = useState(`call_${callId}`);
  const [force, setForce] = useState(false);
  const save = usePostApiCallsIdTest();
  const nameError = save.error instanceof ApiError && save.error.field === 'name' ? save.error.message : undefined;
  const saved = save.data;
  return (
    <Card title={t('saveAsTest')}>
      <form
        className="flex flex-wrap items-end gap-3"
        onSubmit={(e) => {
          e.preventDefault();
          save.mutate({ id: callId, data: { name, force } });
        }}
      >
        <Field label={t('testName')} htmlFor="save-test-name" error={nameError}>
          <TextInput id="save-test-name" value={name} aria-invalid={nameError ? true : undefined} onChange={(e) => setName(e.target.value)} />
        </Field>
        <label className="flex min-h-10 items-center gap-2 text-sm">
          <input id="save-test-force" type="checkbox" checked={force} onChange={(e) => setForce(e.target.checked)} />
          {t('replaceTest')}
        </label>
        <Button type="submit" disabled={save.isPending || name.trim() === ''} data-save-test="">
          {t('saveAsTest')}
        </Button>
      </form>
      {save.error && !nameError && <ErrorText error={save.error} />}
      {saved && !save.error && (
        <div className="mt-3 flex flex-col gap-2 text-sm" data-saved-test={saved.path}>
          <p>
            {t('savedTest')} <code className="break-all rounded bg-slate-100 px-1">{saved.path}</code>
          </p>
          <p className="text-slate-600">
            <code className="break-all rounded bg-slate-100 px-1">vartalaap test {saved.path}</code>
          </p>
          {saved.notes.length > 0 && (
            <ul className="list-disc pl-5 text-amber-800" data-saved-test-notes="">
              {saved.notes.map((note) => (
                <li key={note}>{note}</li>
              ))}
            </ul>
          )}
          <pre className="max-h-80 overflow-auto rounded bg-slate-50 p-2 text-xs">{saved.content}</pre>
        </div>
      )}
    </Card>
  );
}
