// Steering with care: every action that changes a task asks first, saying what will be saved
// before it runs (the backup checkpoint, the conversation snapshot), and says afterwards what was
// saved and how to undo it — with an Undo button where the API can undo it. Errors are shown in
// the API's own words, with its code (CONFLICT when a worker holds the task, …).
import type { ComponentChildren } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { ApiError } from './api';

export interface Outcome {
  /** What happened and what was saved. */
  done: ComponentChildren;
  /** How to undo it, in words. */
  undo: ComponentChildren;
  /** Undoes it through the API, when it can; returns what to say afterwards. */
  undoAction?: { label: string; run: () => Promise<string> };
  /** Where to go next (a fork, say). */
  link?: { href: string; label: string };
}

export interface Steering {
  title: string;
  /** What will be changed and what is saved first. */
  before: ComponentChildren;
  /** Form fields the action needs (a mode, a name, a reason). */
  fields?: ComponentChildren;
  confirmLabel: string;
  run: () => Promise<Outcome>;
}

/** A modal dialog (the browser's own <dialog>: focus is trapped, Escape closes it) for one steering action. */
export function SteeringDialog({ steering, onClose }: { steering: Steering; onClose: (changed: boolean) => void }) {
  const dialog = useRef<HTMLDialogElement>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<ApiError>();
  const [outcome, setOutcome] = useState<Outcome>();
  const [undone, setUndone] = useState<string>();
  useEffect(() => {
    dialog.current?.showModal();
  }, []);
  const act = async (fn: () => Promise<void>) => {
    setBusy(true);
    setError(undefined);
    try {
      await fn();
    } catch (err) {
      setError(err instanceof ApiError ? err : new ApiError(String(err)));
    } finally {
      setBusy(false);
    }
  };
  const close = () => {
    dialog.current?.close();
    onClose(outcome !== undefined);
  };
  return (
    <dialog ref={dialog} class="steer" aria-labelledby="steer-title" onClose={() => onClose(outcome !== undefined)}>
      <h2 id="steer-title">{steering.title}</h2>
      {!outcome ? (
        <form
          method="dialog"
          onSubmit={(e) => {
            e.preventDefault();
            void act(async () => setOutcome(await steering.run()));
          }}
        >
          <div class="before">
            <h3>Before it runs</h3>
            {steering.before}
          </div>
          {steering.fields}
          {error && <ApiErrorText error={error} />}
          <div class="buttons">
            <button type="button" onClick={close}>
              Keep as is
            </button>
            <button type="submit" class="primary" disabled={busy}>
              {steering.confirmLabel}
            </button>
          </div>
        </form>
      ) : (
        <div class="outcome">
          <p role="status">{outcome.done}</p>
          <div class="undo">
            <h3>To undo</h3>
            {outcome.undo}
          </div>
          {undone && <p role="status">{undone}</p>}
          {error && <ApiErrorText error={error} />}
          <div class="buttons">
            {outcome.link && <a href={outcome.link.href}>{outcome.link.label}</a>}
            {outcome.undoAction && !undone && (
              <button type="button" disabled={busy} onClick={() => void act(async () => setUndone(await outcome.undoAction!.run()))}>
                {outcome.undoAction.label}
              </button>
            )}
            <button type="button" class="primary" onClick={close}>
              Close
            </button>
          </div>
        </div>
      )}
    </dialog>
  );
}

export function ApiErrorText({ error }: { error: ApiError }) {
  return (
    <p class="error" role="alert">
      {error.code && <strong>{error.code}: </strong>}
      {error.message}
    </p>
  );
}
