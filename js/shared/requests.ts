// Requests from this view to the kernel (docs/protocol.md): `{type, id, ...}` out, one
// `{type: "reply", id, ok, error?, ...}` back, matched by id so a view handles only the replies to
// what it asked. Buffers travel beside the JSON both ways (a probe's mask out, a page back).

/** A kernel's answer to one request. */
export interface Reply {
  type: "reply";
  id: string;
  ok: boolean;
  error?: string;
  [key: string]: unknown;
}

/** What a reply is handed: the message and its binary buffers. */
export type ReplyHandler = (reply: Reply, buffers: readonly DataView[]) => void;

/** anywidget's model.send (content, callbacks, buffers). */
export interface Sender {
  send(content: unknown, callbacks?: unknown, buffers?: ArrayBuffer[] | ArrayBufferView[]): void;
}

/** A buffer as a DataView, whatever the comm delivered (ArrayBuffer, DataView, typed array). */
export function asDataView(buffer: unknown): DataView | null {
  if (buffer instanceof DataView) return buffer;
  if (buffer instanceof ArrayBuffer) return new DataView(buffer);
  if (ArrayBuffer.isView(buffer)) {
    return new DataView(buffer.buffer, buffer.byteOffset, buffer.byteLength);
  }
  return null;
}

export class Requests {
  private count = 0;
  private readonly waiting = new Map<string, ReplyHandler>();

  constructor(
    private readonly model: Sender,
    private readonly viewId: string,
  ) {}

  /** Send `{type, id, ...extra}`; `onReply` gets the kernel's answer. Returns the id. */
  send(
    type: string,
    extra: Record<string, unknown>,
    onReply: ReplyHandler,
    buffers: ArrayBufferView[] = [],
  ): string {
    const id = `${this.viewId}-${++this.count}`;
    this.waiting.set(id, onReply);
    const content = { type, id, ...extra };
    if (buffers.length > 0) this.model.send(content, undefined, buffers);
    else this.model.send(content);
    return id;
  }

  /** Requests sent and not answered yet. */
  get pending(): number {
    return this.waiting.size;
  }

  /** A custom message from the kernel: handled when it answers one of this view's requests. */
  receive(msg: unknown, buffers: unknown): boolean {
    if (msg === null || typeof msg !== "object") return false;
    const reply = msg as Partial<Reply>;
    if (reply.type !== "reply" || typeof reply.id !== "string") return false;
    const handler = this.waiting.get(reply.id);
    if (handler === undefined) return false; // another view's request, or answered already
    this.waiting.delete(reply.id);
    const views = (Array.isArray(buffers) ? buffers : [])
      .map(asDataView)
      .filter((v): v is DataView => v !== null);
    handler({ ...reply, ok: reply.ok !== false } as Reply, views);
    return true;
  }
}
