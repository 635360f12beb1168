// Builds the library (dist/) and the page's script, next to the page's HTML
// and CSS in crates/server/assets/, which the server embeds. The built script
// is committed, so that building uploadgate needs no Node; scripts/web-test
// checks that it is current.
import { execFileSync } from "node:child_process";
import { copyFile, mkdir } from "node:fs/promises";
import * as esbuild from "esbuild";

const assets = new URL("../crates/server/assets/", import.meta.url);
await mkdir(assets, { recursive: true });
await esbuild.build({
  entryPoints: ["src/index.ts"],
  bundle: true,
  format: "esm",
  target: "es2022",
  outfile: "dist/uploadgate.js",
  sourcemap: true,
});
// The library's types, for applications that import dist/uploadgate.js.
execFileSync("npx", ["tsc", "-p", "tsconfig.lib.json"], { stdio: "inherit" });
await copyFile("src/schema.d.ts", "dist/schema.d.ts");
await esbuild.build({
  entryPoints: ["page/main.ts"],
  bundle: true,
  format: "esm",
  target: "es2022",
  minify: true,
  legalComments: "none",
  outfile: new URL("app.js", assets).pathname,
});
