/**
 * A minimal typed event emitter. `on` returns its own unsubscribe function so
 * a caller never has to keep the handler around to remove it. A listener that
 * throws is reported to `onListenerError` and does not stop the others, nor
 * break the client's state machine that is emitting.
 */

export type Listener<T> = (value: T) => void;

export class Emitter<Events extends object> {
  private listeners = new Map<keyof Events, Set<Listener<never>>>();

  constructor(private readonly onListenerError: (error: unknown) => void = defaultReport) {}

  on<K extends keyof Events>(event: K, fn: Listener<Events[K]>): () => void {
    let set = this.listeners.get(event);
    if (!set) this.listeners.set(event, (set = new Set()));
    set.add(fn as Listener<never>);
    return () => {
      set.delete(fn as Listener<never>);
    };
  }

  emit<K extends keyof Events>(event: K, value: Events[K]): void {
    const set = this.listeners.get(event);
    if (!set) return;
    // Copy: a listener may unsubscribe itself (or others) while we iterate.
    for (const fn of [...set]) {
      try {
        (fn as Listener<Events[K]>)(value);
      } catch (error) {
        this.onListenerError(error);
      }
    }
  }

  listenerCount(event: keyof Events): number {
    return this.listeners.get(event)?.size ?? 0;
  }

  clear(): void {
    this.listeners.clear();
  }
}

function defaultReport(error: unknown): void {
  // Surface it asynchronously, like an uncaught error, without unwinding the emitter.
  setTimeout(() => {
    throw error;
  }, 0);
}
