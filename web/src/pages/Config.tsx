import { useEffect, useMemo, useRef, useState } from 'react';
import { useSearchParams } from 'react-router';
import { useQueryClient } from '@tanstack/react-query';
import {
  getApiConfigFilesDirName,
  getGetApiConfigFilesDirNameQueryKey,
  getGetApiConfigFilesQueryKey,
  getGetApiConfigHistoryQueryKey,
  getGetHealthConfigQueryKey,
  getHealthConfig,
  postApiConfigFilesDirNameCheck,
  postApiConfigHistoryIdRevert,
  putApiConfigFilesDirName,
  useGetApiConfigFiles,
  useGetApiConfigFilesDirName,
  useGetHealthConfig,
} from '../api/generated/client';
import type { ConfigFileText, ConfigHealth, ConfigHistoryEntry, ConfigSaved } from '../api/generated/client';
import { ConfigEditor, type EditorTarget } from '../components/ConfigEditor';
import { Badge, Button, Card, ErrorText, SelectInput } from '../components/ui';
import { useBusiness } from '../lib/business';
import {
  businessFile,
  filesForBusiness,
  problemPlace,
  refusedSaveErrors,
  sortProblems,
  splitConfigPath,
  type ConfigPath,
  type Problem,
  type SortedProblems,
} from '../lib/configProblems';
import { useT } from '../lib/i18n';
import { lineOfYamlPath, listedNames } from '../lib/yamlPath';
import { ConfigHistory } from './ConfigHistory';

/** What the last check (or refused save) said about one file. */
interface CheckResult {
  path: string;
  problems: SortedProblems;
  /** True when the check came from pressing Save: the file was not written. */
  refusedSave: boolean;
}

/** What the last save or revert did. */
interface SaveResult {
  path: string;
  saved: ConfigSaved;
  /** The business's live version after the reload. */
  version: string | null;
}

const NO_FILE: ConfigPath = { dir: 'businesses', name: '' };

function liveVersion(health: ConfigHealth | undefined, businessId: string): string | null {
  return health?.businesses.find((b) => b.id === businessId)?.live?.version ?? null;
}

/**
 * Business config: the chosen business's YAML (and the flows and plugins it names, or any
 * other file of the config root) in an editor with line numbers. "Check" runs the server's
 * validator (the one `vartalaap validate` uses) and shows every problem at its line; "Save"
 * checks first and writes nothing while a problem remains; a save is written atomically and
 * reloaded, and the page shows the new live version. Below, the file's recent saves with their
 * diffs and a one-click revert.
 *
 * Deep link: `/admin/config?business=<id>&file=<dir/name>&yaml_path=<path>` opens the file
 * scrolled to the line of that YAML path, highlighted (docs/ADMIN.md).
 */
export function ConfigPage() {
  const t = useT();
  const queryClient = useQueryClient();
  const { ids, current, choose } = useBusiness();
  const [params, setParams] = useSearchParams();

  // A deep link names the business: choose it once, when the list of businesses is known.
  const linkedBusiness = params.get('business');
  const applied = useRef(false);
  useEffect(() => {
    if (applied.current || !linkedBusiness || !ids.includes(linkedBusiness)) return;
    applied.current = true;
    if (linkedBusiness !== current) choose(linkedBusiness);
  }, [linkedBusiness, ids, current, choose]);

  const health = useGetHealthConfig({ query: { refetchInterval: 5_000 } });
  const business = health.data?.businesses.find((b) => b.id === current);
  const files = useGetApiConfigFiles();
  const paths = useMemo(() => files.data?.files.map((f) => f.path) ?? [], [files.data]);
  const ownPath = businessFile(current, paths);

  // The link's file applies while its business is the chosen one (or it names none).
  const linkApplies = !linkedBusiness || linkedBusiness === current;
  const linkedFile = linkApplies ? params.get('file') : null;
  const linkedFileKnown = !!linkedFile && paths.includes(linkedFile);
  const openPath = linkedFileKnown ? linkedFile : ownPath;
  const open = (openPath && splitConfigPath(openPath)) || NO_FILE;
  const yamlPath = linkApplies && (!linkedFile || linkedFileKnown) ? params.get('yaml_path') : null;

  const file = useGetApiConfigFilesDirName(open.dir, open.name, { query: { enabled: !!openPath, staleTime: Infinity } });
  const own = splitConfigPath(ownPath ?? '') ?? NO_FILE;
  const ownFile = useGetApiConfigFilesDirName(own.dir, own.name, { query: { enabled: !!ownPath, staleTime: Infinity } });
  const groups = useMemo(() => {
    const text = ownFile.data?.content ?? '';
    return filesForBusiness(ownPath, listedNames(text, 'flows'), listedNames(text, 'plugins'), paths);
  }, [ownFile.data, ownPath, paths]);

  // The editor's text, per loaded document; `generation` reloads it after a revert or discard.
  const [generation, setGeneration] = useState(0);
  const docKey = `${openPath ?? ''}#${generation}`;
  const [edit, setEdit] = useState<{ key: string; text: string } | null>(null);
  const loaded = file.data && file.data.path === openPath ? file.data : null;
  const text = edit?.key === docKey ? edit.text : (loaded?.content ?? '');
  const dirty = !!loaded && text !== loaded.content;

  const [check, setCheck] = useState<CheckResult | null>(null);
  const [result, setResult] = useState<SaveResult | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const [jump, setJump] = useState<(EditorTarget & { key: string }) | null>(null);
  const shownCheck = check?.path === openPath ? check : null;
  const shownResult = result?.path === openPath ? result : null;

  // Where the deep link's YAML path is, in the text as loaded.
  const linked = useMemo(() => (yamlPath && loaded ? lineOfYamlPath(loaded.content, yamlPath) : null), [yamlPath, loaded]);
  const linkedTarget = useMemo<EditorTarget | null>(() => (linked ? { line: linked.line, seq: 0 } : null), [linked]);
  const target = jump?.key === docKey ? jump : linkedTarget;

  const openFile = (path: string) => {
    if (path === openPath) return;
    if (dirty && !window.confirm(`${t('unsaved')}: ${openPath}. ${t('discard')}?`)) return;
    setParams({ business: current, file: path });
    setEdit(null);
    setError(null);
  };

  const goToLine = (line: number) => setJump({ key: docKey, line, seq: (jump?.seq ?? 0) + 1 });

  const runCheck = async (content: string, refusedSave: boolean): Promise<boolean> => {
    if (!openPath) return false;
    const reply = await postApiConfigFilesDirNameCheck(open.dir, open.name, { content });
    const problems = sortProblems(openPath, content, reply.errors, reply.warnings);
    setCheck({ path: openPath, problems, refusedSave: refusedSave && !reply.valid });
    const first = problems.here.find((p) => p.severity === 'error' && p.line !== null);
    if (!reply.valid && first?.line) goToLine(first.line);
    return reply.valid;
  };

  /** Puts the file as the server has it now into the editor (unsaved edits are dropped). */
  const reloadFromServer = async () => {
    const fresh = await getApiConfigFilesDirName(open.dir, open.name);
    queryClient.setQueryData(getGetApiConfigFilesDirNameQueryKey(open.dir, open.name), fresh);
    setEdit(null);
    setGeneration((g) => g + 1);
  };

  /**
   * After a save (`content` is what was saved, still in the editor) or a revert (`null`: the
   * editor reloads): the file as stored, the history, and the live version.
   */
  const afterSave = async (saved: ConfigSaved, content: string | null) => {
    if (!openPath) return;
    if (content === null) {
      await reloadFromServer();
    } else {
      const stored: ConfigFileText = { path: saved.path, content, sha256: saved.sha256 };
      queryClient.setQueryData(getGetApiConfigFilesDirNameQueryKey(open.dir, open.name), stored);
    }
    void queryClient.invalidateQueries({ queryKey: getGetApiConfigFilesQueryKey() });
    void queryClient.invalidateQueries({ queryKey: getGetApiConfigHistoryQueryKey({ path: openPath }) });
    const now = await queryClient.fetchQuery({ queryKey: getGetHealthConfigQueryKey(), queryFn: () => getHealthConfig(), staleTime: 0 });
    setResult({ path: openPath, saved, version: liveVersion(now, current) });
  };

  const act = async (work: () => Promise<void>) => {
    setBusy(true);
    setError(null);
    setResult(null);
    try {
      await work();
    } catch (e) {
      const refused = refusedSaveErrors(e);
      if (refused && openPath) {
        setCheck({ path: openPath, problems: sortProblems(openPath, text, refused), refusedSave: true });
      } else {
        setError(e);
      }
    } finally {
      setBusy(false);
    }
  };

  const onCheck = () => act(async () => void (await runCheck(text, false)));
  const onSave = () =>
    act(async () => {
      if (!loaded || !(await runCheck(text, true))) return;
      const saved = await putApiConfigFilesDirName(open.dir, open.name, { content: text, base_sha256: loaded.sha256 });
      await afterSave(saved, text);
    });
  const onRevert = (entry: ConfigHistoryEntry) => {
    if (dirty && !window.confirm(`${t('unsaved')}: ${openPath}. ${t('discard')}?`)) return;
    return act(async () => {
      const saved = await postApiConfigHistoryIdRevert(entry.id);
      setCheck(null);
      await afterSave(saved, null);
    });
  };
  const onDiscard = () =>
    act(async () => {
      setCheck(null);
      await reloadFromServer();
    });

  const problems: Problem[] = shownCheck?.problems.here ?? [];
  const elsewhere = shownCheck?.problems.elsewhere ?? [];
  const errorCount = [...problems, ...elsewhere].filter((p) => p.severity === 'error').length;

  return (
    <div className="flex min-w-0 flex-col gap-3">
      <ErrorText error={health.error ?? files.error} />
      <Card title={`${t('config')}: ${current}`}>
        <p className="text-sm" data-testid="live-status">
          {business?.live ? (
            <>
              <Badge tone="green">live</Badge> {t('liveVersion')} <code data-testid="live-version">{business.live.version.slice(0, 12)}</code> ·{' '}
              {new Date(business.live.loaded_at).toLocaleString()}
            </>
          ) : (
            <Badge tone="red">not live</Badge>
          )}
        </p>
        {business?.last_rejected && (
          <div className="mt-3" data-testid="rejected-edit">
            <p className="text-sm font-medium text-red-800">
              The last edit on disk was refused ({new Date(business.last_rejected.at).toLocaleString()}); the version above keeps answering calls.
            </p>
            <ul className="mt-1 list-disc pl-5 text-sm">
              {business.last_rejected.errors.map((d, i) => (
                <li key={i} className="break-words">
                  <code>{problemPlace({ ...d, line: d.line ?? null, column: d.column ?? null, severity: 'error' })}</code> {d.message}
                </li>
              ))}
            </ul>
          </div>
        )}
      </Card>

      <Card>
        <div className="mb-2 flex flex-wrap items-end gap-2">
          <label className="flex w-full min-w-0 flex-col gap-1 text-sm font-medium text-slate-700 sm:w-auto sm:flex-1" htmlFor="config-file">
            {t('configFile')}
            <SelectInput id="config-file" value={openPath ?? ''} onChange={(e) => openFile(e.target.value)} className="w-full max-w-full">
              {groups.mine.length > 0 && (
                <optgroup label={t('thisBusiness')}>
                  {groups.mine.map((p) => (
                    <option key={p} value={p}>
                      {p}
                    </option>
                  ))}
                </optgroup>
              )}
              <optgroup label={t('otherFiles')}>
                {groups.others.map((p) => (
                  <option key={p} value={p}>
                    {p}
                  </option>
                ))}
              </optgroup>
            </SelectInput>
          </label>
          <div className="flex flex-wrap gap-2">
            <Button tone="secondary" onClick={onCheck} disabled={busy || !loaded}>
              {t('check')}
            </Button>
            <Button onClick={onSave} disabled={busy || !dirty}>
              {t('save')}
            </Button>
            <Button tone="secondary" onClick={onDiscard} disabled={busy || !dirty}>
              {t('discard')}
            </Button>
          </div>
        </div>
        {linkedFile && !linkedFileKnown && files.data && (
          <p role="alert" className="mb-2 text-sm text-amber-800">
            {linkedFile}: no such file in the configuration; showing {openPath ?? 'nothing'}.
          </p>
        )}
        {yamlPath && loaded && (
          <p className="mb-2 text-sm text-slate-600" data-testid="yaml-path-note">
            <code>{yamlPath}</code>{' '}
            {linked
              ? linked.exact
                ? `→ ${t('line')} ${linked.line}`
                : `is not in this file; ${t('line')} ${linked.line} is the nearest part found (${linked.found.join('.')})`
              : 'is not in this file.'}
          </p>
        )}
        <p className="mb-2 min-h-5 text-sm" aria-live="polite" data-testid="editor-status">
          {dirty && <Badge tone="amber">{t('unsaved')}</Badge>}{' '}
          {shownResult && (
            <span className="text-green-800" data-testid="save-result">
              {t('savedLive')} <code>{shownResult.version?.slice(0, 12) ?? '—'}</code>
              {shownResult.saved.history ? ` (#${shownResult.saved.history.id})` : ''}
              {shownResult.saved.reload.rejected.length > 0 && ` — not loaded: ${shownResult.saved.reload.rejected.join(', ')}`}
            </span>
          )}
        </p>
        <ErrorText error={error} />
        {file.error ? (
          <ErrorText error={file.error} />
        ) : loaded ? (
          <ConfigEditor
            docKey={docKey}
            initial={loaded.content}
            language={open.dir === 'plugins' ? 'text' : 'yaml'}
            label={openPath ?? ''}
            problems={problems}
            target={target}
            onChange={(next) => setEdit({ key: docKey, text: next })}
          />
        ) : (
          <p className="text-sm text-slate-500">{t('loading')}</p>
        )}
        {shownCheck && (
          <div className="mt-3" data-testid="config-problems">
            {shownCheck.refusedSave && (
              <p role="alert" className="mb-2 rounded-md bg-red-50 p-2 text-sm text-red-800">
                {t('notSaved')}
              </p>
            )}
            {errorCount === 0 && problems.length === 0 && elsewhere.length === 0 ? (
              <p className="text-sm text-green-800">{t('noProblems')}</p>
            ) : (
              <>
                <h3 className="text-sm font-semibold">
                  {t('problems')} ({problems.length + elsewhere.length})
                </h3>
                <ul className="mt-1 flex flex-col gap-1">
                  {problems.map((p, i) => (
                    <li key={`h${i}`}>
                      <button
                        type="button"
                        className="w-full rounded px-2 py-1 text-left text-sm hover:bg-slate-100 disabled:cursor-default"
                        onClick={() => p.line && goToLine(p.line)}
                        disabled={!p.line}
                        data-problem-line={p.line ?? ''}
                      >
                        <Badge tone={p.severity === 'error' ? 'red' : 'amber'}>{p.line ? `${t('line')} ${p.line}` : p.severity}</Badge>{' '}
                        <span className="break-words">{p.message}</span>
                      </button>
                    </li>
                  ))}
                  {elsewhere.map((p, i) => (
                    <li key={`e${i}`} className="px-2 py-1 text-sm">
                      <Badge tone={p.severity === 'error' ? 'red' : 'amber'}>{problemPlace(p)}</Badge>{' '}
                      <button type="button" className="break-words text-left underline" onClick={() => openFile(p.file)}>
                        {p.message}
                      </button>
                    </li>
                  ))}
                </ul>
              </>
            )}
          </div>
        )}
      </Card>

      {openPath && <ConfigHistory path={openPath} busy={busy} onRevert={onRevert} />}
    </div>
  );
}
