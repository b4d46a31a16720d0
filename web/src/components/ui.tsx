/**
 * The admin's small set of building blocks, written here on top of Radix UI primitives
 * (labels, dialogs) and Tailwind classes. Text is always passed as React children, never as
 * HTML, so whatever a caller said is escaped when shown.
 */
import * as Label from '@radix-ui/react-label';
import * as Dialog from '@radix-ui/react-dialog';
import type { ButtonHTMLAttributes, InputHTMLAttributes, ReactNode, SelectHTMLAttributes, TextareaHTMLAttributes } from 'react';
import { useId } from 'react';

type Tone = 'primary' | 'secondary' | 'danger';

const tones: Record<Tone, string> = {
  primary: 'bg-brand-600 text-white hover:bg-brand-700 disabled:bg-brand-100 disabled:text-brand-700',
  secondary: 'bg-white text-slate-800 border border-slate-300 hover:bg-slate-100',
  danger: 'bg-red-600 text-white hover:bg-red-700',
};

export function Button({ tone = 'primary', className = '', ...props }: ButtonHTMLAttributes<HTMLButtonElement> & { tone?: Tone }) {
  return (
    <button
      type="button"
      {...props}
      className={`inline-flex min-h-10 items-center justify-center rounded-md px-3 py-2 text-sm font-medium disabled:cursor-not-allowed ${tones[tone]} ${className}`}
    />
  );
}

export function Card({ title, children, className = '', actions }: { title?: ReactNode; children: ReactNode; className?: string; actions?: ReactNode }) {
  return (
    <section className={`rounded-lg border border-slate-200 bg-white p-4 shadow-sm ${className}`}>
      {(title || actions) && (
        <div className="mb-3 flex flex-wrap items-center justify-between gap-2">
          {title && <h2 className="text-base font-semibold">{title}</h2>}
          {actions}
        </div>
      )}
      {children}
    </section>
  );
}

/** A labelled form field with its error shown right under it. */
export function Field({ label, error, children, htmlFor }: { label: ReactNode; error?: string | undefined; children: ReactNode; htmlFor: string }) {
  return (
    <div className="flex flex-col gap-1">
      <Label.Root htmlFor={htmlFor} className="text-sm font-medium text-slate-700">
        {label}
      </Label.Root>
      {children}
      {error && (
        <p role="alert" data-field-error={htmlFor} className="text-sm text-red-700">
          {error}
        </p>
      )}
    </div>
  );
}

const control = 'min-h-10 rounded-md border border-slate-300 bg-white px-3 py-2 text-sm focus:border-brand-500 focus:outline-none focus:ring-2 focus:ring-brand-100 aria-[invalid=true]:border-red-500';

export function TextInput(props: InputHTMLAttributes<HTMLInputElement>) {
  return <input {...props} className={`${control} ${props.className ?? ''}`} />;
}

export function TextArea(props: TextareaHTMLAttributes<HTMLTextAreaElement>) {
  return <textarea {...props} className={`${control} ${props.className ?? ''}`} />;
}

export function SelectInput(props: SelectHTMLAttributes<HTMLSelectElement>) {
  return <select {...props} className={`${control} ${props.className ?? ''}`} />;
}

/** A field with a generated id, for forms that do not care about the id. */
export function useFieldId(name: string): string {
  return `${name}-${useId().replace(/:/g, '')}`;
}

export function Modal({ open, onOpenChange, title, children }: { open: boolean; onOpenChange: (open: boolean) => void; title: ReactNode; children: ReactNode }) {
  return (
    <Dialog.Root open={open} onOpenChange={onOpenChange}>
      <Dialog.Portal>
        <Dialog.Overlay className="fixed inset-0 bg-slate-900/40" />
        <Dialog.Content className="fixed inset-x-2 top-8 mx-auto max-h-[90vh] max-w-lg overflow-y-auto rounded-lg bg-white p-4 shadow-xl">
          <Dialog.Title className="mb-3 text-lg font-semibold">{title}</Dialog.Title>
          <Dialog.Description className="sr-only">{title}</Dialog.Description>
          {children}
          <Dialog.Close asChild>
            <button type="button" aria-label="Close" className="absolute right-3 top-3 rounded p-1 text-slate-500 hover:bg-slate-100">
              ✕
            </button>
          </Dialog.Close>
        </Dialog.Content>
      </Dialog.Portal>
    </Dialog.Root>
  );
}

export function ErrorText({ error }: { error: unknown }) {
  if (!error) return null;
  const message = error instanceof Error ? error.message : String(error);
  return (
    <p role="alert" className="rounded-md bg-red-50 p-2 text-sm text-red-800">
      {message}
    </p>
  );
}

export function Badge({ children, tone = 'slate' }: { children: ReactNode; tone?: 'slate' | 'green' | 'red' | 'amber' | 'blue' }) {
  const colors = {
    slate: 'bg-slate-100 text-slate-700',
    green: 'bg-green-100 text-green-800',
    red: 'bg-red-100 text-red-800',
    amber: 'bg-amber-100 text-amber-800',
    blue: 'bg-blue-100 text-blue-800',
  }[tone];
  return <span className={`inline-block rounded px-2 py-0.5 text-xs font-medium ${colors}`}>{children}</span>;
}
