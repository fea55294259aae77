// anywidget entry of the single-image widget: esbuild bundles this file into
// occlusion_widget/static/widget.js. The views and their wiring live in js/widget/ (render.ts).
export { default, version } from "./widget/render";
