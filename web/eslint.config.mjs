// Lints the web page's plain ES modules; run from the repository root
// (`web/node_modules/.bin/eslint --config web/eslint.config.mjs gateway/static`, which
// `make lint` and `make test` do).
import js from "@eslint/js";
import globals from "globals";

export default [
  js.configs.recommended,
  {
    files: ["gateway/static/**/*.js"],
    languageOptions: {
      ecmaVersion: 2022,
      sourceType: "module",
      globals: { ...globals.browser },
    },
    rules: {
      "no-use-before-define": ["error", { functions: false, classes: true, variables: true }],
      "no-shadow": "error",
      eqeqeq: "error",
      "prefer-const": "error",
    },
  },
];
