// One event emitter for the models that stand in for anywidget's: the standalone page's model
// (page/model.ts) and the tests' fake (shared/testutil.ts). It speaks anywidget's `on` / `off`
// dialect: `off()` drops every handler, `off(event)` those of one event.

export type Handler = (...args: unknown[]) => void;

/**
 * Handlers by event name.
 *
 * A handler added or removed while an event is emitted takes effect from the next emit: each
 * emit calls the handlers registered when it started.
 *
 * @example
 * const events = new Emitter();
 * events.on("change:view", (model, value) => console.log(value));
 * events.emit("change:view", null, "probability"); // logs "probability"
 */
export class Emitter {
  private readonly handlers = new Map<string, Set<Handler>>();

  on(event: string, handler: Handler): void {
    let set = this.handlers.get(event);
    if (set === undefined) this.handlers.set(event, (set = new Set()));
    set.add(handler);
  }

  off(event?: string | null, handler?: Handler | null): void {
    if (event === undefined || event === null) this.handlers.clear();
    else if (handler === undefined || handler === null) this.handlers.delete(event);
    else this.handlers.get(event)?.delete(handler);
  }

  /** Handlers registered, over every event (a view that cleans up leaves none). */
  listenerCount(): number {
    let n = 0;
    for (const set of this.handlers.values()) n += set.size;
    return n;
  }

  /** Call the handlers of `event` with `args`. */
  emit(event: string, ...args: unknown[]): void {
    for (const handler of [...(this.handlers.get(event) ?? [])]) handler(...args);
  }
}
