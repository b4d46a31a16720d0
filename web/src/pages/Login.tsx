import { useState, type FormEvent } from 'react';
import { postApiAuthLogin } from '../api/generated/client';
import { startSession } from '../lib/session';
import { Button, Card, ErrorText, Field, TextInput } from '../components/ui';

/** Logs in with the admin password; the bearer token goes to this tab's session. */
export function LoginPage() {
  const [password, setPassword] = useState('');
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const reply = await postApiAuthLogin({ password });
      startSession(reply.token);
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };

  return (
    <main className="mx-auto mt-16 max-w-sm p-3">
      <Card title="Vartalaap admin">
        <form onSubmit={submit} className="flex flex-col gap-3">
          <Field label="Admin password / एडमिन पासवर्ड" htmlFor="password">
            <TextInput id="password" type="password" autoComplete="current-password" value={password} onChange={(e) => setPassword(e.target.value)} required />
          </Field>
          <ErrorText error={error} />
          <Button type="submit" disabled={busy || !password}>
            Log in
          </Button>
          <p className="text-xs text-slate-500">
            The password was shown once when the server first started (or is in data/admin-password.txt); `vartalaap keys` makes a new one.
          </p>
        </form>
      </Card>
    </main>
  );
}
