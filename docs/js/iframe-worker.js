// Search from a site opened from disk. Chromium refuses `new Worker(url)` for a file:// page, so
// there the theme's search worker runs in a hidden same-origin iframe instead: its script is
// loaded with a <script> tag (allowed from file://), and messages pass both ways as events.
// Served over http(s), the real Worker is used and this file does nothing.
(function () {
  "use strict";
  if (location.protocol !== "file:") return;

  class FrameWorker extends EventTarget {
    constructor(url) {
      super();
      this.onmessage = null;
      this.onerror = null;
      this.queue = [];
      this.scope = null;
      const frame = document.createElement("iframe");
      frame.hidden = true;
      frame.setAttribute("aria-hidden", "true");
      document.body.appendChild(frame);
      const scope = frame.contentWindow;
      const worker = this;
      // The worker's global postMessage answers this object, as a Worker's would.
      scope.postMessage = function (data) {
        const event = new MessageEvent("message", { data: data });
        worker.dispatchEvent(event);
        if (typeof worker.onmessage === "function") worker.onmessage(event);
      };
      scope.importScripts = function () {
        throw new Error("importScripts is not available to the file:// search worker");
      };
      const script = scope.document.createElement("script");
      script.src = new URL(url, location.href).href;
      script.onload = function () {
        worker.scope = scope;
        worker.queue.splice(0).forEach(function (data) {
          worker.postMessage(data);
        });
      };
      script.onerror = function () {
        const event = new Event("error");
        worker.dispatchEvent(event);
        if (typeof worker.onerror === "function") worker.onerror(event);
      };
      scope.document.head.appendChild(script);
    }

    postMessage(data) {
      if (this.scope === null) {
        this.queue.push(data);
        return;
      }
      this.scope.dispatchEvent(new MessageEvent("message", { data: data }));
    }

    terminate() {}
  }

  window.Worker = FrameWorker;
})();
