// The signed-in API token, kept in the browser's localStorage, and why it was last refused.
type Listener = () => void;

const KEY = 'makima.token';
const listeners = new Set<Listener>();
let refusal: string | undefined;

function notify(): void {
  for (const listener of listeners) listener();
}

export const session = {
  token: (): string | null => localStorage.getItem(KEY),
  /** The server's words the last time it refused the stored token (cleared by signIn). */
  refusal: (): string | undefined => refusal,
  signIn(token: string): void {
    localStorage.setItem(KEY, token);
    refusal = undefined;
    notify();
  },
  signOut(): void {
    localStorage.removeItem(KEY);
    notify();
  },
  /** The server refused the stored token (bad, expired or revoked): forget it and say why. */
  refused(message: string): void {
    localStorage.removeItem(KEY);
    refusal = message;
    notify();
  },
  subscribe(listener: Listener): () => void {
    listeners.add(listener);
    return () => listeners.delete(listener);
  },
};
