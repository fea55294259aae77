// Replaced at build time with the version in package.json (see js/build.mjs, vitest.config.ts).
declare const __OW_VERSION__: string;
