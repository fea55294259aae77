// Bundles js/widget.ts into occlusion_widget/static/widget.js, the ESM module anywidget loads,
// and js/standalone.ts into static/standalone.js, the script the standalone HTML page inlines.
// js/gallery.ts becomes static/gallery.js, the dataset gallery's anywidget module.
// The version comes from package.json, the one place it is defined.
import * as esbuild from "esbuild";
import { readFileSync } from "node:fs";

const pkg = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8"));
const watch = process.argv.includes("--watch");

const options = {
  entryPoints: ["js/widget.ts"],
  bundle: true,
  format: "esm",
  target: "es2020",
  minify: !watch,
  sourcemap: watch ? "inline" : false,
  outfile: "occlusion_widget/static/widget.js",
  define: { __OW_VERSION__: JSON.stringify(pkg.version) },
  logLevel: "info",
};

// The standalone page (occlusion_widget/standalone.py) inlines this one: a classic script, so it
// runs from file:// with no module loading.
const page = {
  ...options,
  entryPoints: ["js/standalone.ts"],
  format: "iife",
  outfile: "occlusion_widget/static/standalone.js",
};

const gallery = {
  ...options,
  entryPoints: ["js/gallery.ts"],
  outfile: "occlusion_widget/static/gallery.js",
};

if (watch) {
  const ctx = await esbuild.context(options);
  await ctx.watch();
  const pageCtx = await esbuild.context(page);
  await pageCtx.watch();
  const galleryCtx = await esbuild.context(gallery);
  await galleryCtx.watch();
} else {
  await esbuild.build(options);
  await esbuild.build(page);
  await esbuild.build(gallery);
}
