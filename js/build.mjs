// Bundles every js/src/widgets/<name>.ts into cnnwidgets/static/<name>.js (one anywidget ESM
// module each) and js/src/styles.css into cnnwidgets/static/widgets.css.
//
// The output is committed and a Python test rebuilds it and compares byte for byte, so it must
// be deterministic: no timestamps, no source maps or comments carrying absolute paths, a
// sorted entry list, and a pinned esbuild version (package-lock.json).
import { build } from "esbuild";
import { readdirSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const widgets = join(here, "src", "widgets");
// `node build.mjs --outdir DIR` builds elsewhere (the bundle test compares a fresh build with
// the committed one without touching the checkout).
const flag = process.argv.indexOf("--outdir");
const outdir = flag > 0 ? resolve(process.argv[flag + 1]) : join(here, "..", "cnnwidgets", "static");

const entries = readdirSync(widgets)
  .filter((f) => f.endsWith(".ts") && !f.endsWith(".d.ts"))
  .sort();

const common = {
  absWorkingDir: here,
  bundle: true,
  minify: false,
  sourcemap: false,
  legalComments: "none",
  logLevel: "warning",
  charset: "utf8",
};

await build({
  ...common,
  entryPoints: entries.map((f) => join("src", "widgets", f)),
  outdir,
  format: "esm",
  target: "es2020",
  platform: "browser",
});

await build({
  ...common,
  entryPoints: [join("src", "styles.css")],
  outfile: join(outdir, "widgets.css"),
});

console.log(`built ${entries.length} widget bundles and widgets.css into ${flag > 0 ? outdir : "cnnwidgets/static/"}`);
