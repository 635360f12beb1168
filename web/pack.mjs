// Packs the three packages with `npm pack`, as a registry would get them,
// into ../examples/packages/, where the examples install them from.
import { execFileSync } from "node:child_process";
import { mkdirSync } from "node:fs";

const destination = new URL("../examples/packages/", import.meta.url).pathname;
mkdirSync(destination, { recursive: true });
for (const dir of [".", "react", "element"]) {
  const out = execFileSync("npm", ["pack", "--silent", "--pack-destination", destination], {
    cwd: new URL(`${dir}/`, import.meta.url),
    encoding: "utf8",
  });
  console.log(`packed ${out.trim()}`);
}
