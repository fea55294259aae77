import tseslint from "typescript-eslint";

export default tseslint.config(
  { ignores: ["occlusion_widget/static/**", "node_modules/**", "js/build.mjs"] },
  ...tseslint.configs.recommended,
  {
    files: ["js/**/*.ts"],
    rules: {
      // Strings reach the DOM only as text: innerHTML is how labels turn into code.
      "no-restricted-properties": [
        "error",
        { property: "innerHTML", message: "Use textContent; labels are user data." },
        { property: "outerHTML", message: "Use textContent; labels are user data." },
      ],
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_" }],
    },
  },
);
