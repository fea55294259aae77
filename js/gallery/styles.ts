// The gallery's own CSS, beside the widget's (shared/styles.ts): scoped under .ow-root.ow-gallery so
// it takes the same theme variables, and injected once per view root.
export const GALLERY_CLASS = "ow-gallery";

export const GALLERY_CSS = `
.ow-root.ow-gallery { gap: 8px; }
.ow-gallery .ow-gallery-bar { display: flex; flex-wrap: wrap; align-items: center; gap: 6px 14px; }
.ow-gallery .ow-gallery-grid {
  display: grid;
  grid-template-columns: repeat(auto-fill, minmax(120px, 1fr));
  gap: 8px;
}
.ow-gallery .ow-gallery-item {
  display: flex;
  flex-direction: column;
  align-items: center;
  gap: 2px;
  padding: 6px 4px;
  font: inherit;
  color: var(--ow-fg);
  background: transparent;
  border: 1px solid var(--ow-border);
  border-radius: 4px;
  cursor: pointer;
  min-width: 0;
}
.ow-gallery .ow-gallery-item:hover { border-color: var(--ow-accent); }
.ow-gallery .ow-gallery-item[aria-pressed="true"] {
  border-color: var(--ow-accent);
  box-shadow: 0 0 0 2px var(--ow-accent) inset;
}
.ow-gallery .ow-gallery-item canvas {
  width: 96px;
  height: 96px;
  object-fit: contain;
  image-rendering: pixelated;
}
.ow-gallery .ow-gallery-caption {
  max-width: 100%;
  overflow: hidden;
  text-overflow: ellipsis;
  white-space: nowrap;
  font-weight: 600;
}
.ow-gallery .ow-gallery-item.ow-wrong .ow-gallery-caption { color: var(--ow-error); }
.ow-gallery .ow-gallery-metrics {
  display: flex;
  flex-wrap: wrap;
  justify-content: center;
  column-gap: 8px;
  max-width: 100%;
  color: var(--ow-fg-muted);
  font-size: 11px;
  line-height: 1.3;
}
.ow-gallery .ow-gallery-metrics > span { white-space: nowrap; }
.ow-gallery .ow-gallery-pager { display: flex; align-items: center; gap: 8px; }
.ow-gallery button.ow-gallery-step {
  font: inherit;
  color: var(--ow-fg);
  background: var(--ow-input-bg);
  border: 1px solid var(--ow-border);
  border-radius: 4px;
  padding: 3px 10px;
  min-height: 28px;
  cursor: pointer;
}
.ow-gallery button.ow-gallery-step:disabled { opacity: 0.45; cursor: default; }
.ow-gallery .ow-gallery-error { color: var(--ow-error); }
.ow-gallery .ow-gallery-empty { color: var(--ow-fg-muted); padding: 12px 0; }
`;

export function injectGalleryStyles(root: HTMLElement): void {
  if (root.querySelector(":scope > style[data-ow-gallery-style]") !== null) return;
  const style = document.createElement("style");
  style.dataset.owGalleryStyle = "";
  style.textContent = GALLERY_CSS;
  root.prepend(style);
}
