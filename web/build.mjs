// Builds the three packages and the page's script:
//   dist/          @uploadgate/client (one ES module and its types)
//   react/dist/    @uploadgate/react (React and the client stay imports)
//   element/dist/  @uploadgate/element, and uploadgate-dropzone.js, which
//                  bundles the client for a plain <script type="module">
// The page's script goes next to its HTML and CSS in crates/server/assets/,
// which the server embeds. It is committed, so that building uploadgate needs
// no Node; scripts/web-test checks that it is current.
import { execFileSync } from "node:child_process";
import { copyFile, mkdir, rm } from "node:fs/promises";
import * as esbuild from "esbuild";

const library = { bundle: true, format: "esm", target: "es2022", sourcemap: true, logLevel: "warning" };
const types = (project) => execFileSync("npx", ["tsc", "-p", project], { stdio: "inherit" });

for (const dir of ["dist", "react/dist", "element/dist"]) await rm(dir, { recursive: true, force: true });

await esbuild.build({ ...library, entryPoints: ["src/index.ts"], outfile: "dist/uploadgate.js" });
types("tsconfig.lib.json");
await copyFile("src/schema.d.ts", "dist/schema.d.ts");

await esbuild.build({
  ...library,
  entryPoints: ["react/src/index.ts"],
  outfile: "react/dist/index.js",
  jsx: "automatic",
  // Next.js's App Router renders these only as client components.
  banner: { js: '"use client";' },
  external: ["react", "react/jsx-runtime", "@uploadgate/client"],
});
types("react/tsconfig.json");

await esbuild.build({
  ...library,
  entryPoints: ["element/src/index.ts", "element/src/define.ts"],
  outdir: "element/dist",
  // One shared chunk, so that index.js and define.js hold the same class.
  splitting: true,
  external: ["@uploadgate/client"],
});
await esbuild.build({
  ...library,
  entryPoints: ["element/src/define.ts"],
  outfile: "element/dist/uploadgate-dropzone.js",
  alias: { "@uploadgate/client": new URL("src/index.ts", import.meta.url).pathname },
  minify: true,
});
types("element/tsconfig.json");

const assets = new URL("../crates/server/assets/", import.meta.url);
await mkdir(assets, { recursive: true });
await esbuild.build({
  entryPoints: ["page/main.ts"],
  bundle: true,
  format: "esm",
  target: "es2022",
  minify: true,
  legalComments: "none",
  outfile: new URL("app.js", assets).pathname,
});
