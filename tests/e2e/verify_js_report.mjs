// Runs the browser verifier (web/public/verify.js) under node on one bundle and prints its
// report as JSON ({valid, checks: [{id, status, reason}]}), for tests that compare it with
// notary-verify on bundles the console test does not make (e.g. with sender evidence).
//   node tests/e2e/verify_js_report.mjs SOURCE_DIR BUNDLE.zip
import { readFileSync } from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";

const [source, bundle] = process.argv.slice(2);
const pub = path.join(source, "web", "public");
const V = await import(pathToFileURL(path.join(pub, "verify.js")).href);
const assets = {
  certTemplate: new Uint8Array(
    readFileSync(path.join(pub, "cert_template.html")),
  ),
  certTemplateV1: new Uint8Array(
    readFileSync(path.join(pub, "cert_template_v1.html")),
  ),
  verifyTemplate: new Uint8Array(
    readFileSync(path.join(pub, "verify_template.md")),
  ),
  labels: new Uint8Array(readFileSync(path.join(pub, "cert_labels.json"))),
};
try {
  const files = await V.readZip(new Uint8Array(readFileSync(bundle)));
  const r = await V.verifyBundle(files, null, assets);
  const checks = r.checks.map((c) => ({
    id: c.id,
    status: c.status,
    reason: c.reason,
  }));
  process.stdout.write(JSON.stringify({ valid: r.valid, checks }) + "\n");
} catch (err) {
  process.stdout.write(JSON.stringify({ error: err.message }) + "\n");
}
