// "Export page": the kernel builds the standalone HTML page (occlusion_widget/standalone.py
// export_reply) and sends it as the reply's first buffer; the browser saves it as a file.
import type { Reply } from "../shared/requests";

/** The page a reply carries, or the reason it carries none (shown in the error box). */
export function pageFromReply(
  reply: Reply,
  buffers: readonly DataView[],
): { blob: Blob; filename: string } | { error: string } {
  if (!reply.ok) return { error: String(reply.error ?? "the kernel could not build the page") };
  const page = buffers[0];
  if (page === undefined || page.byteLength === 0) {
    return { error: "the kernel's reply carried no page (export_html sent no buffer)" };
  }
  const name = typeof reply.filename === "string" ? reply.filename : "";
  const filename = /^[^/\\]+\.html?$/i.test(name) ? name : "occlusion.html";
  const bytes = new Uint8Array(new Uint8Array(page.buffer, page.byteOffset, page.byteLength));
  return { blob: new Blob([bytes], { type: "text/html" }), filename };
}
