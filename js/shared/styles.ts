// The widget's CSS, scoped under .ow-root and injected once per view root. Colours come from
// JupyterLab's --jp-* variables with fallbacks, so it follows light and dark themes and still
// reads in hosts without them (VS Code, Colab). Translucent greys work on either background.
export const ROOT_CLASS = "ow-root";

export const CSS = `
.ow-root {
  --ow-fg: var(--jp-ui-font-color1, currentColor);
  --ow-fg-muted: var(--jp-ui-font-color2, rgba(127, 127, 127, 0.95));
  --ow-border: var(--jp-border-color1, rgba(127, 127, 127, 0.45));
  --ow-surface: var(--jp-layout-color1, transparent);
  --ow-input-bg: var(--jp-input-background, var(--jp-layout-color1, rgba(127, 127, 127, 0.08)));
  --ow-track: rgba(127, 127, 127, 0.22);
  --ow-accent: var(--jp-brand-color1, #1a73e8);
  --ow-error: var(--jp-error-color1, #d32f2f);
  --ow-warn: var(--jp-warn-color1, #e65100);
  --ow-focus: var(--jp-brand-color1, #1a73e8);
  box-sizing: border-box;
  display: flex;
  flex-direction: column;
  gap: 12px;
  max-width: 100%;
  padding: 8px 4px;
  color: var(--ow-fg);
  font-family: var(--jp-ui-font-family, system-ui, -apple-system, "Segoe UI", Roboto, sans-serif);
  font-size: 13px;
  line-height: 1.4;
}
.ow-root *, .ow-root *::before, .ow-root *::after { box-sizing: border-box; }
.ow-root [hidden] { display: none !important; }
.ow-root :focus-visible { outline: 2px solid var(--ow-focus); outline-offset: 2px; }
.ow-root .ow-controls { display: flex; flex-direction: column; gap: 8px; }
.ow-root .ow-row { display: flex; flex-wrap: wrap; align-items: center; gap: 8px 16px; margin: 0; }
.ow-root .ow-field { display: inline-flex; align-items: center; gap: 6px; }
.ow-root .ow-field-label { color: var(--ow-fg-muted); font-weight: 600; }
.ow-root select, .ow-root input[type="number"], .ow-root input[type="search"] {
  font: inherit;
  color: var(--ow-fg);
  background: var(--ow-input-bg);
  border: 1px solid var(--ow-border);
  border-radius: 4px;
  padding: 3px 6px;
  min-height: 28px;
}
.ow-root select option { color: initial; background: initial; }
.ow-root .ow-target-field select { width: 220px; }
.ow-root .ow-search { width: 140px; }
.ow-root .ow-target-find { position: relative; }
.ow-root .ow-target-panel {
  position: absolute;
  top: calc(100% + 2px);
  left: 0;
  z-index: 10;
  width: 320px;
  padding: 4px;
  border: 1px solid var(--ow-border);
  border-radius: 4px;
  background: var(--jp-layout-color1, Canvas);
  box-shadow: 0 4px 12px rgba(0, 0, 0, 0.25);
}
.ow-root .ow-target-count { font-size: 11px; color: var(--ow-fg-muted); padding: 0 4px 4px; }
.ow-root .ow-target-list { position: relative; overflow-y: auto; contain: strict; }
.ow-root .ow-target-spacer { width: 1px; }
.ow-root .ow-target-row {
  position: absolute;
  top: 0;
  left: 0;
  right: 0;
  display: flex;
  align-items: center;
  gap: 6px;
  padding: 0 6px;
  cursor: pointer;
  white-space: nowrap;
}
.ow-root .ow-target-row:hover { background: var(--ow-track); }
.ow-root .ow-target-row.ow-active { outline: 1px solid var(--ow-accent); outline-offset: -1px; }
.ow-root .ow-target-row.ow-chosen { font-weight: 600; }
.ow-root .ow-target-check { flex: none; width: 1.2em; }
.ow-root .ow-target-name { overflow: hidden; text-overflow: ellipsis; }
.ow-root .ow-number input { width: 64px; }
.ow-root input[type="range"] { width: 120px; accent-color: var(--ow-accent); }
.ow-root .ow-opacity-value { color: var(--ow-fg-muted); min-width: 3em; font-variant-numeric: tabular-nums; }
.ow-root .ow-button {
  font: inherit;
  font-weight: 600;
  min-height: 28px;
  padding: 3px 14px;
  border-radius: 4px;
  border: 1px solid var(--ow-border);
  background: var(--ow-input-bg);
  color: var(--ow-fg);
  cursor: pointer;
}
.ow-root .ow-button.ow-primary {
  background: var(--ow-accent);
  border-color: var(--ow-accent);
  color: var(--jp-ui-inverse-font-color1, #fff);
}
.ow-root .ow-button.ow-attention { box-shadow: 0 0 0 3px rgba(26, 115, 232, 0.35); }
.ow-root .ow-button:disabled { opacity: 0.45; cursor: default; }
.ow-root .ow-pending { color: var(--ow-warn); font-size: 12px; }
.ow-root .ow-progress {
  position: relative;
  height: 20px;
  max-width: 480px;
  border-radius: 4px;
  background: var(--ow-track);
  overflow: hidden;
}
.ow-root .ow-progress-fill { position: absolute; inset: 0 auto 0 0; background: var(--ow-accent); opacity: 0.55; transition: width 0.2s; }
.ow-root .ow-progress[data-status="cancelled"] .ow-progress-fill { background: var(--ow-warn); }
.ow-root .ow-progress[data-status="error"] .ow-progress-fill { background: var(--ow-error); }
.ow-root .ow-progress-text { position: relative; padding: 0 8px; font-size: 12px; line-height: 20px; font-variant-numeric: tabular-nums; white-space: nowrap; }
.ow-root .ow-error {
  border: 1px solid var(--ow-error);
  border-left-width: 4px;
  border-radius: 4px;
  padding: 6px 10px;
  color: var(--ow-fg);
  background: rgba(211, 47, 47, 0.1);
  white-space: pre-wrap;
  overflow-wrap: anywhere;
  max-width: 800px;
}
.ow-root .ow-body { display: flex; flex-wrap: wrap; align-items: flex-start; gap: 16px 24px; }
.ow-root .ow-left { display: flex; flex-direction: column; gap: 8px; min-width: 0; max-width: 100%; flex: none; }
.ow-root .ow-map-frame { position: relative; line-height: 0; align-self: flex-start; }
.ow-root .ow-map-hover { position: absolute; inset: 0; width: 100%; height: 100%; pointer-events: none; }
.ow-root .ow-probe-layer { position: absolute; inset: 0; width: 100%; height: 100%; pointer-events: none; }
.ow-root .ow-probe-layer.ow-probe-on { pointer-events: auto; cursor: crosshair; }
.ow-root .ow-probe-tools { gap: 6px; align-items: center; margin: 2px 0 4px; }
.ow-root .ow-probe-tools [aria-pressed="true"] { outline: 2px solid currentColor; }
.ow-root .ow-probe-hint { font-size: 12px; opacity: 0.75; }
.ow-root .ow-right { display: flex; flex-direction: column; gap: 12px; }
.ow-root .ow-map { display: block; max-width: 100%; height: auto; border-radius: 2px; cursor: crosshair; }
.ow-root canvas.ow-pixelated { image-rendering: pixelated; image-rendering: crisp-edges; }
.ow-root .ow-map-badge {
  position: absolute;
  top: 6px;
  left: 6px;
  line-height: 1.4;
  padding: 2px 8px;
  border-radius: 10px;
  background: rgba(0, 0, 0, 0.65);
  color: #fff;
  font-size: 12px;
  pointer-events: none;
}
.ow-root .ow-map-title { font-weight: 600; font-size: 14px; line-height: 18px; max-width: 100%; min-height: 36px; overflow-wrap: anywhere; }
.ow-root .ow-note {
  position: absolute;
  left: 4px;
  right: 4px;
  bottom: 4px;
  z-index: 1;
  line-height: 1.4;
  padding: 6px 10px;
  border-radius: 4px;
  border-left: 4px solid var(--ow-warn);
  background: linear-gradient(rgba(230, 81, 0, 0.12), rgba(230, 81, 0, 0.12)),
    var(--jp-layout-color1, Canvas);
  opacity: 0.94;
  font-weight: 600;
  overflow-wrap: anywhere;
  pointer-events: none;
}
.ow-root .ow-title-line { font-weight: 600; font-size: 14px; overflow-wrap: anywhere; }
.ow-root .ow-pin-note {
  align-self: flex-start;
  font: inherit;
  font-size: 12px;
  color: var(--ow-fg);
  background: var(--ow-input-bg);
  border: 1px solid var(--ow-warn);
  border-radius: 12px;
  padding: 2px 10px;
  cursor: pointer;
}
.ow-root .ow-pin-note:disabled { color: var(--ow-fg-muted); border-color: var(--ow-border); cursor: default; }
.ow-root .ow-colorbar { max-width: 100%; }
.ow-root .ow-colorbar-title { font-size: 12px; color: var(--ow-fg-muted); margin-bottom: 2px; }
.ow-root .ow-colorbar-ramp { height: 12px; border-radius: 2px; border: 1px solid var(--ow-border); }
.ow-root .ow-colorbar-ticks { position: relative; height: 16px; font-size: 11px; font-variant-numeric: tabular-nums; }
.ow-root .ow-tick { position: absolute; top: 1px; transform: translateX(-50%); white-space: nowrap; }
.ow-root .ow-tick:first-child { transform: none; }
.ow-root .ow-tick:last-child { transform: translateX(-100%); }
.ow-root .ow-colorbar-ends { display: flex; justify-content: space-between; font-size: 11px; color: var(--ow-fg-muted); }
.ow-root .ow-legend { max-width: 100%; }
.ow-root .ow-legend-caption { font-size: 12px; color: var(--ow-fg-muted); margin-bottom: 4px; }
.ow-root .ow-legend-list { display: flex; flex-wrap: wrap; gap: 4px 6px; }
.ow-root .ow-legend-entry {
  display: inline-flex;
  align-items: center;
  gap: 6px;
  font: inherit;
  font-size: 12px;
  padding: 2px 8px;
  border-radius: 12px;
  border: 1px solid var(--ow-border);
  background: transparent;
  color: var(--ow-fg);
  cursor: pointer;
  max-width: 100%;
}
.ow-root .ow-legend-entry[aria-pressed="true"] { border-color: var(--ow-accent); box-shadow: inset 0 0 0 1px var(--ow-accent); }
.ow-root .ow-legend-entry.ow-dimmed { opacity: 0.5; }
.ow-root .ow-legend-name { overflow: hidden; text-overflow: ellipsis; white-space: nowrap; max-width: 200px; }
.ow-root .ow-legend-count { color: var(--ow-fg-muted); font-variant-numeric: tabular-nums; }
.ow-root .ow-legend-base { color: var(--ow-accent); font-weight: 600; }
.ow-root .ow-swatch { display: inline-block; width: 12px; height: 12px; border-radius: 2px; flex: none; border: 1px solid rgba(127, 127, 127, 0.6); vertical-align: -1px; margin: 0 4px 0 2px; }
.ow-root .ow-inspector,
.ow-root .ow-probe-result { display: flex; flex-direction: column; gap: 6px; width: 320px; max-width: 100%; }
.ow-root .ow-inspector-title,
.ow-root .ow-probe-title { font-weight: 600; font-size: 14px; }
.ow-root .ow-inspector-image,
.ow-root .ow-probe-image { display: block; height: auto; max-width: 100%; border-radius: 2px; border: 1px solid var(--ow-border); }
.ow-root .ow-caption,
.ow-root .ow-probe-caption { font-size: 12px; color: var(--ow-fg-muted); overflow-wrap: anywhere; }
.ow-root .ow-predicted,
.ow-root .ow-probe-predicted { padding: 4px 8px; border-radius: 4px; border: 1px solid var(--ow-border); overflow-wrap: anywhere; }
.ow-root .ow-predicted.ow-changed { border-color: var(--ow-warn); border-left-width: 4px; }
.ow-root .ow-changed-note { color: var(--ow-warn); font-weight: 600; }
.ow-root .ow-drop,
.ow-root .ow-probe-drop { font-variant-numeric: tabular-nums; overflow-wrap: anywhere; }
.ow-root .ow-probs-key { display: flex; gap: 12px; font-size: 11px; color: var(--ow-fg-muted); }
.ow-root .ow-key::before { content: ""; display: inline-block; width: 10px; height: 10px; margin-right: 4px; border-radius: 2px; vertical-align: -1px; }
.ow-root .ow-key-occluded::before { background: var(--ow-accent); }
.ow-root .ow-key-base::before { background: var(--ow-fg-muted); opacity: 0.6; }
.ow-root .ow-probs,
.ow-root .ow-probe-probs { display: flex; flex-direction: column; gap: 4px; }
.ow-root .ow-prob-row {
  display: grid;
  grid-template-columns: minmax(0, 1fr) 90px;
  grid-template-areas: "name bars" "value bars";
  column-gap: 8px;
  align-items: center;
  font-size: 12px;
}
.ow-root .ow-prob-row.ow-is-target .ow-prob-name { font-weight: 700; }
.ow-root .ow-prob-name { grid-area: name; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
.ow-root .ow-prob-value { grid-area: value; color: var(--ow-fg-muted); font-variant-numeric: tabular-nums; white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
.ow-root .ow-bars { grid-area: bars; display: flex; flex-direction: column; gap: 2px; }
.ow-root .ow-bar { height: 8px; border-radius: 2px; background: var(--ow-track); overflow: hidden; }
.ow-root .ow-bar-fill { height: 100%; }
.ow-root .ow-bar-occluded .ow-bar-fill { background: var(--ow-accent); }
.ow-root .ow-bar-base .ow-bar-fill { background: var(--ow-fg-muted); opacity: 0.6; }
.ow-root .ow-sr-only { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; }
`;

/** Add the stylesheet to a view root (once). */
export function injectStyles(root: HTMLElement): void {
  if (root.querySelector(":scope > style[data-ow-style]") !== null) return;
  const style = document.createElement("style");
  style.dataset.owStyle = "";
  style.textContent = CSS;
  root.prepend(style);
}
